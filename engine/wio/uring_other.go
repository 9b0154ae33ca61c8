//go:build !linux

package wio

import "errors"

func newUring() (Engine, error) { return nil, errors.New("wio: io_uring needs Linux") }
