package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
)

// parseAge reads an age such as "30d", "12h" or "90m".
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("--older-than %q: want a number of days such as 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--older-than %q: want an age such as 30d or 12h", s)
	}
	return d, nil
}

func mediaCommand(stdout io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "media",
		Usage: "manage media files",
		Commands: []*cli.Command{{
			Name:  "prune",
			Usage: "drop cached copies of remote files (they are fetched again when needed)",
			Flags: []cli.Flag{&cli.StringFlag{Name: "older-than", Usage: "drop copies fetched longer ago than `AGE` (e.g. 30d)", Value: "30d"}},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				age, err := parseAge(cmd.String("older-than"))
				if err != nil {
					return err
				}
				return withAdmin(ctx, cmd, false, func(a accountAdmin) error {
					n, err := a.PruneMedia(ctx, age, func(done int) {
						fmt.Fprintf(stdout, "pruned %d cached files so far\n", done)
					})
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "pruned %d cached remote files older than %s\n", n, cmd.String("older-than"))
					return nil
				})
			},
		}},
	}
}
