package digest_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ztkit/ztkit/httpsig/digest"
)

func ExampleValue() {
	v, _ := digest.Value([]byte(`{"hello": "world"}`))
	fmt.Println(v)
	// Output: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
}

func ExampleVerify() {
	field := "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
	fmt.Println(digest.Verify([]byte(`{"hello": "world"}`), field))
	err := digest.Verify([]byte(`{"hello": "World"}`), field)
	fmt.Println(errors.Is(err, digest.ErrMismatch))
	err = digest.Verify(nil, "md5=:Sd/dVLAcvNLSq16eXua5uQ==:")
	fmt.Println(errors.Is(err, digest.ErrUnsupported))
	// Output:
	// <nil>
	// true
	// true
}

func ExampleReader() {
	want, _ := digest.Parse("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
	r, _ := digest.NewReader(strings.NewReader(`{"hello": "world"}`), want.Algorithms()...)
	body, _ := io.ReadAll(r) // the body is read once, and hashed as it is read
	fmt.Println(len(body), r.Verify(want))
	// Output: 18 <nil>
}
