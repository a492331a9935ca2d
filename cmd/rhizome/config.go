package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the TOML configuration file. Every key is documented in
// config.example.toml at the repository root.
type Config struct {
	Instance   InstanceConfig   `toml:"instance"`
	HTTP       HTTPConfig       `toml:"http"`
	Federation FederationConfig `toml:"federation"`
	Storage    StorageConfig    `toml:"storage"`
	Media      MediaConfig      `toml:"media"`
	Log        LogConfig        `toml:"log"`
}

// MediaConfig is the [media] table: upload limits, shown to apps in the
// instance's configuration.
type MediaConfig struct {
	MaxImageBytes  int64 `toml:"max_image_bytes"`
	MaxVideoBytes  int64 `toml:"max_video_bytes"`
	MaxImagePixels int64 `toml:"max_image_pixels"`
	MaxAttachments int   `toml:"max_attachments"`
	// RemoteCacheDays drops cached copies of remote files after this many
	// days (0 keeps them until `rhizome media prune`).
	RemoteCacheDays int `toml:"remote_cache_days"`
}

// FederationConfig is the [federation] table.
type FederationConfig struct {
	AuthorizedFetch       bool   `toml:"authorized_fetch"`
	AllowPrivateAddresses bool   `toml:"allow_private_addresses"`
	DeliveryMaxAge        string `toml:"delivery_max_age"`
}

// deliveryMaxAge parses delivery_max_age; validate has checked it.
func (f FederationConfig) deliveryMaxAge() time.Duration {
	d, _ := time.ParseDuration(f.DeliveryMaxAge)
	return d
}

// InstanceConfig is the [instance] table.
type InstanceConfig struct {
	Domain string `toml:"domain"`
	Title  string `toml:"title"`
}

// HTTPConfig is the [http] table.
type HTTPConfig struct {
	Listen       string `toml:"listen"`
	Protocol     string `toml:"protocol"`
	TLSCertFile  string `toml:"tls_cert_file"`
	TLSKeyFile   string `toml:"tls_key_file"`
	MaxBodyBytes int64  `toml:"max_body_bytes"`
}

// StorageConfig is the [storage] table.
type StorageConfig struct {
	DataDir string `toml:"data_dir"`
}

// LogConfig is the [log] table.
type LogConfig struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// defaultConfig is what a file leaves unset. Domain has no default in a
// file: it names the instance forever, so it must be chosen.
func defaultConfig() Config {
	return Config{
		Instance:   InstanceConfig{Title: "Rhizome"},
		HTTP:       HTTPConfig{Listen: "127.0.0.1:8080", Protocol: "https", MaxBodyBytes: 1 << 20},
		Federation: FederationConfig{DeliveryMaxAge: "72h"},
		Storage:    StorageConfig{DataDir: "./data"},
		Media:      MediaConfig{MaxImageBytes: 16 << 20, MaxVideoBytes: 99 << 20, MaxImagePixels: 7680 * 4320, MaxAttachments: 4},
		Log:        LogConfig{Level: "info", Format: "text"},
	}
}

// developmentConfig is what `rhizome serve` runs with no configuration
// file: a local instance on http://localhost:8080.
func developmentConfig() Config {
	c := defaultConfig()
	c.Instance.Domain = "localhost:8080"
	c.Instance.Title = "Rhizome (development)"
	c.HTTP.Listen = "localhost:8080"
	c.HTTP.Protocol = "http"
	return c
}

// maxConfigBytes bounds the configuration file.
const maxConfigBytes = 1 << 20

// loadConfig reads and checks the configuration. With path "" it returns
// the development configuration. Every error names the key (and line, when
// the parser knows it).
func loadConfig(path string) (Config, error) {
	if path == "" {
		return developmentConfig(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return Config{}, fmt.Errorf("config %s: file is larger than %d bytes", path, maxConfigBytes)
	}
	c := defaultConfig()
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, describeTOMLError(path, err)
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

var goFieldPattern = regexp.MustCompile(`struct field \S+ of type |main\.\w+Config`)

// describeTOMLError turns the parser's error into "file:line: key: reason".
func describeTOMLError(path string, err error) error {
	var missing *toml.StrictMissingError
	if errors.As(err, &missing) {
		var lines []string
		for _, e := range missing.Errors {
			row, _ := e.Position()
			lines = append(lines, fmt.Sprintf("%s:%d: unknown key %q", path, row, strings.Join(e.Key(), ".")))
		}
		return errors.New(strings.Join(lines, "; "))
	}
	var decode *toml.DecodeError
	if errors.As(err, &decode) {
		row, _ := decode.Position()
		key := strings.Join(decode.Key(), ".")
		msg := strings.TrimPrefix(decode.Error(), "toml: ")
		// "cannot decode TOML integer into struct field main.X.Y of type string"
		// names our Go types; keep only the TOML and wanted types.
		msg = goFieldPattern.ReplaceAllStringFunc(msg, func(m string) string {
			if strings.HasPrefix(m, "main.") {
				return "table"
			}
			return "a "
		})
		if key == "" {
			return fmt.Errorf("%s:%d: %s", path, row, msg)
		}
		return fmt.Errorf("%s:%d: %s: %s", path, row, key, msg)
	}
	// Type mismatches arrive without a position in some go-toml versions.
	return fmt.Errorf("%s: %w", path, err)
}

// validate checks values the parser accepted; errors name the key.
func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Instance.Domain == "" {
		bad("instance.domain", "is required (the host name in every ID, e.g. \"social.example.org\")")
	} else if err := checkDomain(c.Instance.Domain); err != nil {
		bad("instance.domain", "%q %v", c.Instance.Domain, err)
	}
	if strings.TrimSpace(c.Instance.Title) == "" {
		bad("instance.title", "must not be empty")
	} else if len(c.Instance.Title) > 200 {
		bad("instance.title", "is longer than 200 bytes")
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "%q is not host:port (e.g. \"127.0.0.1:8080\")", c.HTTP.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("http.listen", "%q has an invalid port", c.HTTP.Listen)
	}
	if c.HTTP.Protocol != "https" && c.HTTP.Protocol != "http" {
		bad("http.protocol", "%q must be \"https\" or \"http\"", c.HTTP.Protocol)
	}
	if (c.HTTP.TLSCertFile == "") != (c.HTTP.TLSKeyFile == "") {
		bad("http.tls_cert_file", "and http.tls_key_file must be set together")
	}
	if c.HTTP.TLSCertFile != "" && c.HTTP.Protocol != "https" {
		bad("http.protocol", "must be \"https\" when serving TLS directly")
	}
	for key, file := range map[string]string{"http.tls_cert_file": c.HTTP.TLSCertFile, "http.tls_key_file": c.HTTP.TLSKeyFile} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			bad(key, "%v", err)
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 1<<30 {
		bad("http.max_body_bytes", "%d is outside 1024 to 1073741824", c.HTTP.MaxBodyBytes)
	}
	if d, err := time.ParseDuration(c.Federation.DeliveryMaxAge); err != nil {
		bad("federation.delivery_max_age", "%q is not a duration such as \"72h\"", c.Federation.DeliveryMaxAge)
	} else if d < time.Hour {
		bad("federation.delivery_max_age", "%s is shorter than 1h", d)
	}
	if c.Storage.DataDir == "" {
		bad("storage.data_dir", "must not be empty")
	}
	if c.Media.MaxImageBytes < 1024 || c.Media.MaxImageBytes > 1<<30 {
		bad("media.max_image_bytes", "%d is outside 1024 to 1073741824", c.Media.MaxImageBytes)
	}
	if c.Media.MaxVideoBytes < 1024 || c.Media.MaxVideoBytes > 4<<30 {
		bad("media.max_video_bytes", "%d is outside 1024 to 4294967296", c.Media.MaxVideoBytes)
	}
	if c.Media.MaxImagePixels < 1 || c.Media.MaxImagePixels > 1<<28 {
		bad("media.max_image_pixels", "%d is outside 1 to 268435456", c.Media.MaxImagePixels)
	}
	if c.Media.MaxAttachments < 1 || c.Media.MaxAttachments > 16 {
		bad("media.max_attachments", "%d is outside 1 to 16", c.Media.MaxAttachments)
	}
	if c.Media.RemoteCacheDays < 0 || c.Media.RemoteCacheDays > 3650 {
		bad("media.remote_cache_days", "%d is outside 0 to 3650", c.Media.RemoteCacheDays)
	}
	if _, err := c.Log.level(); err != nil {
		bad("log.level", "%v", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q must be \"text\" or \"json\"", c.Log.Format)
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// checkDomain accepts a lowercase-able host name with an optional port, and
// nothing else: no scheme, path, user or IP literal brackets.
func checkDomain(domain string) error {
	if strings.Contains(domain, "://") || strings.ContainsAny(domain, "/?#@") {
		return errors.New("must be a host name with an optional port, not a URL (e.g. \"social.example.org\")")
	}
	host, port := domain, ""
	if i := strings.LastIndex(domain, ":"); i >= 0 {
		host, port = domain[:i], domain[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("has an invalid port")
		}
	}
	if host == "" || len(host) > 253 {
		return errors.New("is not a host name")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("is not a host name (no scheme or path, e.g. \"social.example.org\")")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return errors.New("is not a host name (no scheme or path, e.g. \"social.example.org\")")
			}
		}
	}
	return nil
}

func (l LogConfig) level() (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("%q must be debug, info, warn or error", l.Level)
	}
	return level, nil
}
