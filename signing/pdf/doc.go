// Package pdf reads and writes the syntax of PDF files (ISO 32000-1,
// chapter 7) without loading the document: the lexer and object parser,
// the cross-reference chain (tables, streams, hybrid files, object
// streams), views of the document as of each revision, and the writer of
// objects and cross-reference sections an incremental update needs.
//
// A Document keeps only its cross-reference sections in memory; objects
// are parsed through an io.ReaderAt when asked for, and every count, depth
// and length a hostile file could inflate is bounded (see the limits in
// object.go). Signing and verifying live in signing/pades; this package
// knows nothing of signatures.
package pdf
