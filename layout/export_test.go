package layout

// EncodeYAML is the emitter, for the golden tests of package layout_test.
var EncodeYAML = encodeYAML
