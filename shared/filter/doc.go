// Package filter applies a stream's filters (stream.Filters) to events, and
// offers ready-made filters for the vendors whose logs logstream knows.
//
// An event passes when it matches at least one include rule (or there are
// none) and no exclude rule. A rule names a field by a dotted path into the
// event object ("eventType", "actor.alternateId"), descending through
// objects only, and matches its value:
//
//   - a string by its text (escapes decoded);
//   - a number by its JSON text as written (200 matches "200", 2e2 does not),
//     true and false by their names;
//   - an array when one of its elements, one of those scalars, does;
//   - null, an object, or a field that is missing never matches, so an exclude
//     rule on a field an event lacks does not drop it.
//
// A glob is path.Match's: "*" matches any run of characters except "/".
//
// Matching is cheap because ingestion runs it for every event and every
// stream: Compile builds, once per stream, a tree of the paths the rules
// name. PassEvent reads an event's top-level members from the index
// logevent.Parse kept while it read the event (Pass walks the bytes with
// jsonobj instead), descends only into the objects on those paths, and
// leaves each object once every name wanted in it has been met; so the
// first of a repeated member name counts. Values are compared without
// allocating: `in` lists are sets, and globs of the usual shapes (exact,
// literal then "*", "*" then literal, literal between stars) skip
// path.Match.
package filter
