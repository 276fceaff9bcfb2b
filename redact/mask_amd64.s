//go:build amd64 && !purego

#include "textflag.h"

// func cpuid(eax, ecx uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eax+0(FP), AX
	MOVL ecx+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// BCAST fills the vector z with the byte v.
#define BCAST(v, z) \
	MOVL         $v, BX \
	VPBROADCASTB BX, z

// LOOKUP replaces each byte of v by its entry in the 128-byte table whose
// first half is in lo and second half at hi; a non-ASCII byte by the entry of
// DEL (0x7f), which is in no class.
#define LOOKUP(v, lo, hi) \
	VPMINUB  Z20, v, v \
	VPERMI2B hi, lo, v

// func classifyAVX512(tables *laneTables, src *byte, nblocks int, out *uint64)
//
// For each 64-byte block at src it stores the mask of candidateAt, one bit a
// byte; it reads src[-3:64*nblocks+8]. The lanes of laneTables come first:
// start of x and the fail tables of its neighbours, looked up with VPERMI2B,
// give a class byte whose set bits are the lanes that hold. The separators
// follow, with compares and keyEnd in K registers.
TEXT ·classifyAVX512(SB), NOSPLIT, $0-32
	MOVQ tables+0(FP), AX
	MOVQ src+8(FP), SI
	MOVQ nblocks+16(FP), CX
	MOVQ out+24(FP), DI

	VMOVDQU64 0(AX), Z21 // start
	VMOVDQU64 128(AX), Z22 // fail x-3
	VMOVDQU64 256(AX), Z23 // fail x-2
	VMOVDQU64 384(AX), Z24 // fail x-1
	VMOVDQU64 512(AX), Z25 // fail x+1
	VMOVDQU64 640(AX), Z26 // fail x+2
	VMOVDQU64 768(AX), Z27 // fail x+3
	VMOVDQU64 896(AX), Z28 // fail x+4
	VMOVDQU64 1024(AX), Z29 // fail x+8
	VMOVDQU64 1152(AX), Z30 // prev
	VMOVDQU64 1280(AX), Z31 // last
	BCAST(0x7f, Z20) // DEL, the most a byte looked up can be
	BCAST(58, Z12)   // ':'
	BCAST(61, Z13)   // '='
	BCAST(47, Z16)   // '/'
	BCAST(0x80, Z17) // bit 7 of keyLast: a quote

loop:
	// The lanes.
	VMOVDQU64 (SI), Z0
	LOOKUP(Z0, Z21, 64(AX))
	VMOVDQU64 -3(SI), Z1
	LOOKUP(Z1, Z22, 192(AX))
	VMOVDQU64 -2(SI), Z2
	LOOKUP(Z2, Z23, 320(AX))
	VMOVDQU64 -1(SI), Z3
	LOOKUP(Z3, Z24, 448(AX))
	VMOVDQU64 1(SI), Z4
	LOOKUP(Z4, Z25, 576(AX))
	VMOVDQU64 2(SI), Z5
	LOOKUP(Z5, Z26, 704(AX))
	VMOVDQU64 3(SI), Z6
	LOOKUP(Z6, Z27, 832(AX))
	VMOVDQU64 4(SI), Z7
	LOOKUP(Z7, Z28, 960(AX))
	VMOVDQU64 8(SI), Z8
	LOOKUP(Z8, Z29, 1088(AX))
	VPTERNLOGD $0xfe, Z3, Z2, Z1 // Z1 |= Z2 | Z3
	VPTERNLOGD $0xfe, Z5, Z4, Z1
	VPTERNLOGD $0xfe, Z7, Z6, Z1
	VPTERNLOGD $0x10, Z8, Z1, Z0 // Z0 &^= Z1 | Z8
	VPTESTMB   Z0, Z0, K2

	// ':' or '=' (K3) before '/' or after the end of a key that may be
	// secret (keyEnd), bare or quoted (K5).
	VMOVDQU64 (SI), Z0
	VPCMPEQB  Z12, Z0, K3
	VPCMPEQB  Z13, Z0, K4
	KORQ      K4, K3, K3
	VMOVDQU64 1(SI), Z0
	VPCMPEQB  Z16, Z0, K3, K4
	VMOVDQU64 -1(SI), Z1
	LOOKUP(Z1, Z31, 1344(AX)) // last of x-1
	VMOVDQU64 -2(SI), Z2
	VMOVDQA64 Z2, Z3
	LOOKUP(Z2, Z30, 1216(AX)) // prev of x-2
	LOOKUP(Z3, Z31, 1344(AX)) // last of x-2
	VMOVDQU64 -3(SI), Z0
	LOOKUP(Z0, Z30, 1216(AX)) // prev of x-3
	VPTESTMB  Z2, Z1, K3, K5
	KORQ      K5, K4, K4
	VPTESTMB  Z17, Z1, K3, K5 // a quote at x-1
	VPTESTMB  Z0, Z3, K5, K5
	KORQ      K5, K4, K4
	KORQ      K4, K2, K2

	KMOVQ K2, BX
	MOVQ  BX, (DI)
	ADDQ  $64, SI
	ADDQ  $8, DI
	DECQ  CX
	JNZ   loop

	VZEROUPPER
	RET
