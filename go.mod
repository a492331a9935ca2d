module github.com/rhizome-fed/rhizome

go 1.26.8

require (
	github.com/go-fed/activity v1.0.0
	github.com/go-fed/httpsig v1.1.0
	github.com/gorilla/mux v1.8.1
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/urfave/cli/v3 v3.14.0
	go.etcd.io/bbolt v1.4.3
	golang.org/x/crypto v0.59.0
)

require golang.org/x/sys v0.50.0 // indirect
