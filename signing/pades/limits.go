package pades

// Limits that keep a hostile file from making the verifier or signer walk
// without end; far above what real documents need.
const (
	maxFieldNodes  = 10000  // AcroForm field dictionaries walked per revision
	maxFieldVisits = 100000 // AcroForm field dictionaries walked in all revisions
	maxByteRanges  = 16     // (offset, length) pairs in a /ByteRange
	// maxSharedHashes: up to this many signatures share hash states
	// (hashAll); more are hashed each on its own, in time linear in the
	// file's size times their number.
	maxSharedHashes = 16
)
