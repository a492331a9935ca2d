package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web"
	"github.com/rhizome-fed/rhizome/web/adminapi"
)

// accountAdmin is what the account commands need; a running server's
// admin socket (adminapi.Client) and an instance opened here
// (adminapi.Local) both provide it.
type accountAdmin interface {
	ListAccounts(ctx context.Context) ([]adminapi.Account, error)
	CreateAccount(ctx context.Context, n adminapi.NewAccount) (adminapi.Account, error)
	SetPassword(ctx context.Context, username, password string) error
	SetAdmin(ctx context.Context, username string, admin bool) error
	SetSuspended(ctx context.Context, username string, suspended bool) error
	ListReports(ctx context.Context) ([]adminapi.Report, error)
	PruneMedia(ctx context.Context, age time.Duration, progress func(done int)) (int, error)
}

// withAdmin reaches the running server over its admin socket or, when no
// server runs on the data folder, opens the data itself. Only mayCreate
// (account creation, which may come before the first start) sets up a new
// database; the other commands refuse a data folder without one, so a
// mistyped data_dir cannot send them to an empty instance.
func withAdmin(ctx context.Context, cmd *cli.Command, mayCreate bool, fn func(accountAdmin) error) error {
	c, err := loadConfig(cmd.String("config"))
	if err != nil {
		return err
	}
	socket := web.AdminSocketPath(c.Storage.DataDir)
	if client, err := adminapi.Dial(ctx, socket); err == nil {
		return fn(client)
	}
	dbPath := filepath.Join(c.Storage.DataDir, web.DatabaseFile)
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		if !mayCreate {
			return fmt.Errorf("no database at %s: check storage.data_dir (the server creates it on its first start)", dbPath)
		}
		fmt.Fprintf(os.Stderr, "setting up a new instance for %s in %s\n", c.Instance.Domain, c.Storage.DataDir)
	}
	srv, err := web.New(ctx, web.Options{
		Domain:   c.Instance.Domain,
		Protocol: c.HTTP.Protocol,
		Title:    c.Instance.Title,
		DataDir:  c.Storage.DataDir,
		Logger:   newLogger(LogConfig{Level: "warn", Format: c.Log.Format}, os.Stderr),
	})
	if errors.Is(err, storage.ErrLocked) {
		return fmt.Errorf("the data folder %s is in use by another process, and no server answers on %s", c.Storage.DataDir, socket)
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	return fn(adminapi.Local{In: srv.Instance()})
}

var usernameFlag = &cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "the account's `NAME`", Required: true}

func adminCommand(stdout io.Writer) *cli.Command {
	flagCommand := func(name, usage, done string, set func(accountAdmin, context.Context, string) error) *cli.Command {
		return &cli.Command{
			Name:  name,
			Usage: usage,
			Flags: []cli.Flag{usernameFlag},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				return withAdmin(ctx, cmd, false, func(a accountAdmin) error {
					username := cmd.String("username")
					if err := set(a, ctx, username); err != nil {
						return err
					}
					fmt.Fprintf(stdout, "%s %s\n", username, done)
					return nil
				})
			},
		}
	}
	reports := &cli.Command{
		Name:  "report",
		Usage: "reports other instances sent about local accounts",
		Commands: []*cli.Command{{
			Name:  "list",
			Usage: "list the newest reports",
			Action: func(ctx context.Context, cmd *cli.Command) error {
				return withAdmin(ctx, cmd, false, func(a accountAdmin) error {
					reports, err := a.ListReports(ctx)
					if err != nil {
						return err
					}
					if len(reports) == 0 {
						fmt.Fprintln(stdout, "no reports")
						return nil
					}
					for _, r := range reports {
						fmt.Fprintf(stdout, "%s  %s  from %s  about %s\n", r.ID, r.CreatedAt.Format(time.DateTime), r.Reporter, strings.Join(r.Accounts, ", "))
						for _, s := range r.Statuses {
							fmt.Fprintf(stdout, "    status %s\n", s)
						}
						if r.Comment != "" {
							fmt.Fprintf(stdout, "    %q\n", r.Comment)
						}
					}
					return nil
				})
			},
		}},
	}
	return &cli.Command{
		Name:  "admin",
		Usage: "administer the instance (works while the server runs)",
		Commands: []*cli.Command{reports, {
			Name:  "account",
			Usage: "manage local accounts",
			Commands: []*cli.Command{
				{
					Name:  "create",
					Usage: "create a local account",
					Flags: []cli.Flag{
						usernameFlag,
						&cli.StringFlag{Name: "email", Usage: "the account's email `ADDRESS`", Required: true},
						&cli.StringFlag{Name: "password", Usage: "the account's `PASSWORD` (\"-\" reads it from standard input)", Required: true},
						&cli.BoolFlag{Name: "admin", Usage: "make the account an administrator"},
					},
					Action: func(ctx context.Context, cmd *cli.Command) error {
						password, err := readPassword(cmd.String("password"), cmd.Root().Reader)
						if err != nil {
							return err
						}
						return withAdmin(ctx, cmd, true, func(a accountAdmin) error {
							acct, err := a.CreateAccount(ctx, adminapi.NewAccount{
								Username: cmd.String("username"),
								Email:    cmd.String("email"),
								Password: password,
								Admin:    cmd.Bool("admin"),
							})
							if err != nil {
								return err
							}
							role := "account"
							if acct.Admin {
								role = "admin account"
							}
							fmt.Fprintf(stdout, "created %s %s <%s>\n", role, acct.Username, acct.Email)
							return nil
						})
					},
				},
				{
					Name:  "password",
					Usage: "set a local account's password",
					Flags: []cli.Flag{
						usernameFlag,
						&cli.StringFlag{Name: "password", Usage: "the new `PASSWORD` (\"-\" reads it from standard input)", Required: true},
					},
					Action: func(ctx context.Context, cmd *cli.Command) error {
						password, err := readPassword(cmd.String("password"), cmd.Root().Reader)
						if err != nil {
							return err
						}
						return withAdmin(ctx, cmd, false, func(a accountAdmin) error {
							if err := a.SetPassword(ctx, cmd.String("username"), password); err != nil {
								return err
							}
							fmt.Fprintf(stdout, "password of %s changed\n", cmd.String("username"))
							return nil
						})
					},
				},
				flagCommand("promote", "make a local account an administrator", "is now an administrator",
					func(a accountAdmin, ctx context.Context, u string) error { return a.SetAdmin(ctx, u, true) }),
				flagCommand("demote", "make an administrator a regular account", "is no longer an administrator",
					func(a accountAdmin, ctx context.Context, u string) error { return a.SetAdmin(ctx, u, false) }),
				flagCommand("suspend", "suspend a local account", "is suspended",
					func(a accountAdmin, ctx context.Context, u string) error { return a.SetSuspended(ctx, u, true) }),
				flagCommand("unsuspend", "lift a local account's suspension", "is no longer suspended",
					func(a accountAdmin, ctx context.Context, u string) error { return a.SetSuspended(ctx, u, false) }),
				{
					Name:  "list",
					Usage: "list local accounts",
					Action: func(ctx context.Context, cmd *cli.Command) error {
						return withAdmin(ctx, cmd, false, func(a accountAdmin) error {
							accounts, err := a.ListAccounts(ctx)
							if err != nil {
								return err
							}
							tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
							fmt.Fprintln(tw, "USERNAME\tEMAIL\tROLE\tSTATE\tCREATED")
							for _, acct := range accounts {
								role, state := "user", "active"
								if acct.Admin {
									role = "admin"
								}
								if acct.Suspended {
									state = "suspended"
								}
								fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", acct.Username, acct.Email, role, state, acct.CreatedAt.Format(time.DateOnly))
							}
							return tw.Flush()
						})
					},
				},
			},
		}},
	}
}

// readPassword returns flag, or with "-" the first line of r (it returns
// at the end of that line, so a person can type it).
func readPassword(flag string, r io.Reader) (string, error) {
	if flag != "-" {
		return flag, nil
	}
	if r == nil {
		r = os.Stdin
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
