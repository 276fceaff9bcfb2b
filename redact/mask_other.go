//go:build !amd64 || purego

package redact

// detectSIMD reports the masked scan's classifier this CPU runs: none here,
// where the plain scan is faster than classifying in Go.
func detectSIMD() simdKind { return simdNone }

// classifyVector sets out to the candidates of nblocks blocks; src holds
// blockBefore bytes before the first and blockAfter after the last. Without
// vector code the masked scan runs only in tests, which classify in Go.
func classifyVector(_ *laneTables, src []byte, nblocks int, out []uint64) {
	for b := range nblocks {
		out[b] = classifyGeneric(src[:blockBefore+64*nblocks+blockAfter], blockBefore+64*b)
	}
}
