package stream

import (
	"encoding/json"
	"errors"

	"github.com/logstream/logstream/shared/destination"
)

// config decodes and validates a destination config for its type, keeping
// the secrets of prev (the stored config, or nil on create) that raw omits
// unless raw moves them to another destination (destination.ValidateUpdate),
// and returns it in canonical form with any secret generated on the way.
func (v Validator) config(typ string, raw, prev json.RawMessage) (json.RawMessage, map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		if _, err := destination.Decode(typ, json.RawMessage(`{}`)); err != nil {
			return nil, nil, fieldError(err)
		}
		return nil, nil, invalid("destination_config", "is required")
	}
	if len(raw) > destination.MaxConfigBytes {
		return nil, nil, invalid("destination_config", "is larger than %d bytes", destination.MaxConfigBytes)
	}
	c, err := destination.Decode(typ, raw)
	if err != nil {
		return nil, nil, fieldError(err)
	}
	generate := false
	if h, ok := c.(*destination.HTTPConfig); ok {
		generate = h.GenerateSigningSecret && h.SigningSecret == ""
	}
	var old destination.Config
	if prev != nil {
		// A stored config that no longer decodes keeps nothing.
		old, _ = destination.Decode(typ, prev)
	}
	if err := destination.ValidateUpdate(c, old, v.Net); err != nil {
		return nil, nil, fieldError(err)
	}
	var revealed map[string]string
	if h, ok := c.(*destination.HTTPConfig); ok && generate {
		revealed = map[string]string{"signing_secret": h.SigningSecret}
	}
	out, err := json.Marshal(c)
	if err != nil {
		return nil, nil, err
	}
	return out, revealed, nil
}

// fieldError places a destination error under destination_config.
func fieldError(err error) error {
	var fe *destination.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	switch {
	case fe.Field == "destination_type":
		return &ValidationError{Field: "destination_type", Msg: fe.Msg}
	case fe.Field == "":
		return &ValidationError{Field: "destination_config", Msg: fe.Msg}
	}
	return &ValidationError{Field: "destination_config." + fe.Field, Msg: fe.Msg}
}
