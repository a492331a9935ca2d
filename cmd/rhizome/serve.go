package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/rhizome-fed/rhizome/web"
	"github.com/rhizome-fed/rhizome/web/media"
)

func serveCommand(stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the server until SIGINT or SIGTERM (the default command)",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			path := cmd.String("config")
			c, err := loadConfig(path)
			if err != nil {
				return err
			}
			return serve(ctx, c, path, stderr)
		},
	}
}

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	level, _ := c.level() // validated with the configuration
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, c Config, configPath string, stderr io.Writer) error {
	log := newLogger(c.Log, stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, let a second one end the process at once
		// instead of waiting for in-flight requests.
		<-ctx.Done()
		stop()
	}()

	srv, err := web.New(ctx, web.Options{
		Domain:       c.Instance.Domain,
		Protocol:     c.HTTP.Protocol,
		Title:        c.Instance.Title,
		DataDir:      c.Storage.DataDir,
		Version:      buildVersion(),
		MaxBodyBytes: c.HTTP.MaxBodyBytes,
		Logger:       log,

		AllowPrivateAddresses: c.Federation.AllowPrivateAddresses,
		AuthorizedFetch:       c.Federation.AuthorizedFetch,
		DeliveryMaxAge:        c.Federation.deliveryMaxAge(),

		Media: media.Limits{MaxImageBytes: c.Media.MaxImageBytes, MaxVideoBytes: c.Media.MaxVideoBytes,
			MaxImagePixels: c.Media.MaxImagePixels},
		MaxAttachments: c.Media.MaxAttachments,
		RemoteCacheAge: time.Duration(c.Media.RemoteCacheDays) * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", c.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	var tls *web.TLS
	if c.HTTP.TLSCertFile != "" {
		tls = &web.TLS{CertFile: c.HTTP.TLSCertFile, KeyFile: c.HTTP.TLSKeyFile}
	}
	if accounts, err := srv.Instance().LocalAccounts(); err == nil && len(accounts) == 0 {
		flag := ""
		if configPath != "" {
			flag = " --config " + configPath
		}
		fmt.Fprintf(stderr, "\nRhizome is running at %s://%s with no accounts yet. Create the first one (an admin) with:\n\n"+
			"  rhizome admin account create --username NAME --email ADDRESS --password PASSWORD --admin%s\n\n",
			c.HTTP.Protocol, c.Instance.Domain, flag)
	}
	if err := srv.Serve(ctx, ln, tls); err != nil {
		return err
	}
	log.InfoContext(ctx, "stopped")
	return nil
}
