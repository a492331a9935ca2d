// Command rhizome runs a Rhizome instance and administers it.
//
//	rhizome [serve] [--config FILE]   run the server (the default)
//	rhizome admin account ...         manage local accounts
//	rhizome config check              validate a configuration file
//	rhizome version                   print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v3"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	if err := newApp(os.Stdout, os.Stderr).Run(context.Background(), os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "rhizome: %v\n", err)
		os.Exit(1)
	}
}

// buildVersion returns the version stamped at build time or recorded by
// the Go toolchain.
func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

var configFlag = &cli.StringFlag{
	Name:      "config",
	Aliases:   []string{"c"},
	Usage:     "read configuration from `FILE` (none: a development instance on http://localhost:8080)",
	Sources:   cli.EnvVars("RHIZOME_CONFIG"),
	TakesFile: true,
}

func newApp(stdout, stderr io.Writer) *cli.Command {
	serve := serveCommand(stderr)
	return &cli.Command{
		Name:            "rhizome",
		Usage:           "a federated ActivityPub server in one binary",
		Version:         buildVersion(),
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Flags:           []cli.Flag{configFlag},
		// With no command, serve.
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return fmt.Errorf("unknown command %q (see rhizome --help)", cmd.Args().First())
			}
			return serve.Action(ctx, cmd)
		},
		Commands: []*cli.Command{
			serve,
			adminCommand(stdout),
			mediaCommand(stdout),
			{
				Name:  "config",
				Usage: "work with configuration files",
				Commands: []*cli.Command{{
					Name:  "check",
					Usage: "validate the configuration and report every problem",
					Action: func(ctx context.Context, cmd *cli.Command) error {
						path := cmd.String("config")
						c, err := loadConfig(path)
						if err != nil {
							return err
						}
						if path == "" {
							path = "(no file: development defaults)"
						}
						fmt.Fprintf(stdout, "%s: ok (instance %s://%s, data in %s)\n", path, c.HTTP.Protocol, c.Instance.Domain, c.Storage.DataDir)
						return nil
					},
				}},
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(ctx context.Context, cmd *cli.Command) error {
					fmt.Fprintf(stdout, "rhizome %s\n", buildVersion())
					return nil
				},
			},
		},
	}
}
