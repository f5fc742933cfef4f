// Package wire is the BGP-4 wire codec of the lab's speaker: the message
// header and the five message types (RFC 4271, RFC 2918, RFC 7313), OPEN
// optional parameters and capabilities (RFC 5492, RFC 9072), path attributes
// (RFC 4271, RFC 1997, RFC 4456, RFC 4760, RFC 4360, RFC 6793, RFC 8092),
// typed NOTIFICATION errors with their RFC 7606 outcome, and text rendering
// in the style of tcpdump for message traces.
//
// Every message type decodes from bytes with Decode and appends its encoding,
// header included, to a buffer with AppendTo; Parse dispatches on the header
// type. Decoding never panics and never indexes before checking bounds: bad
// input yields an *Error that carries the NOTIFICATION code, subcode and data
// a session sends back, so a session answers on the wire directly.
//
// Decoded messages remember the incidental choices of the sender (attribute
// flags such as an Extended Length bit on a short attribute, how
// capabilities were grouped into optional parameters), so a decoded message
// re-encodes byte for byte. Messages built by hand get the canonical
// encoding.
//
// The package has no kernel, socket or topology dependency.
package wire
