module github.com/logstream/logstream/infra

go 1.26

// npm's aws-cdk package ships Go init templates that are not valid packages.
ignore ./node_modules

replace github.com/logstream/logstream => ../
