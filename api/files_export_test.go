package api

// FileDisposition is fileDisposition, for the tests.
var FileDisposition = fileDisposition
