//go:build amd64 && !purego

package redact

// detectSIMD reports the masked scan's classifier this CPU runs: AVX-512
// (F, BW and VBMI) when the CPU has it and the OS saves its registers.
func detectSIMD() simdKind {
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave = 1 << 27
	if ecx1&osxsave == 0 {
		return simdNone
	}
	// XCR0: SSE, AVX, opmask, ZMM0-15 upper halves, ZMM16-31.
	const zmmState = 1<<1 | 1<<2 | 1<<5 | 1<<6 | 1<<7
	if xcr0, _ := xgetbv(); xcr0&zmmState != zmmState {
		return simdNone
	}
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return simdNone
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	const avx512f, avx512bw, avx512vbmi = 1 << 16, 1 << 30, 1 << 1
	if ebx7&avx512f == 0 || ebx7&avx512bw == 0 || ecx7&avx512vbmi == 0 {
		return simdNone
	}
	return simdAVX512
}

// classifyVector sets out to the candidates of nblocks blocks; src holds
// blockBefore bytes before the first and blockAfter after the last.
func classifyVector(t *laneTables, src []byte, nblocks int, out []uint64) {
	_ = src[blockBefore+64*nblocks+blockAfter-1]
	_ = out[nblocks-1]
	classifyAVX512(t, &src[blockBefore], nblocks, &out[0])
}

// classifyAVX512 stores the candidates of the nblocks blocks at src in out;
// it reads src[-blockBefore:64*nblocks+blockAfter].
//
//go:noescape
func classifyAVX512(tables *laneTables, src *byte, nblocks int, out *uint64)

// cpuid returns the registers of the CPUID instruction for leaf eax and
// subleaf ecx.
func cpuid(eax, ecx uint32) (a, b, c, d uint32)

// xgetbv returns the extended control register XCR0.
func xgetbv() (eax, edx uint32)
