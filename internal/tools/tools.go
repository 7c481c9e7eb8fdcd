//go:build tools

// Package tools pins the project's chosen dependencies in go.mod while the
// packages that use them are being written. It is never built.
package tools

import (
	_ "github.com/FerretDB/FerretDB/ferretdb"
	_ "github.com/HdrHistogram/hdrhistogram-go"
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/hashicorp/golang-lru/v2/expirable"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "github.com/tsenart/vegeta/v12/lib"
	_ "go.mongodb.org/mongo-driver/mongo"
	_ "go.uber.org/goleak"
	_ "golang.org/x/perf/benchmath"
	_ "golang.org/x/sync/errgroup"
)
