package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rhizome.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig_errorsNameTheKey(t *testing.T) {
	const ok = "[instance]\ndomain = \"a.test\"\n"
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{"typo'd key", ok + "[http]\nlisen = \"127.0.0.1:80\"\n", []string{":4:", `unknown key "http.lisen"`}},
		{"typo'd table", ok + "[htp]\nlisten = \"127.0.0.1:80\"\n", []string{`unknown key "htp`}},
		{"wrong type", ok + "[http]\nlisten = 8080\n", []string{":4:", "http.listen", "integer"}},
		{"wrong type bool", "[instance]\ndomain = true\n", []string{":2:", "instance.domain"}},
		{"syntax error", "[instance\n", []string{":1:"}},
		{"missing domain", "[instance]\ntitle = \"x\"\n", []string{"instance.domain", "required"}},
		{"domain with scheme", "[instance]\ndomain = \"https://a.test\"\n", []string{"instance.domain"}},
		{"domain with path", "[instance]\ndomain = \"a.test/x\"\n", []string{"instance.domain"}},
		{"domain bad port", "[instance]\ndomain = \"a.test:99999\"\n", []string{"instance.domain", "port"}},
		{"empty title", ok + "title = \" \"\n", []string{"instance.title"}},
		{"bad listen", ok + "[http]\nlisten = \"nonsense\"\n", []string{"http.listen"}},
		{"bad protocol", ok + "[http]\nprotocol = \"ftp\"\n", []string{"http.protocol"}},
		{"tls cert without key", ok + "[http]\ntls_cert_file = \"/etc/hostname\"\n", []string{"http.tls_cert_file"}},
		{"tls over http", ok + "[http]\nprotocol = \"http\"\ntls_cert_file = \"/etc/hostname\"\ntls_key_file = \"/etc/hostname\"\n", []string{"http.protocol"}},
		{"missing tls file", ok + "[http]\ntls_cert_file = \"/no/such/cert\"\ntls_key_file = \"/no/such/key\"\n", []string{"http.tls_cert_file", "http.tls_key_file"}},
		{"tiny body limit", ok + "[http]\nmax_body_bytes = 10\n", []string{"http.max_body_bytes"}},
		{"media limits out of range", ok + "[media]\nmax_image_bytes = 10\nmax_attachments = 0\n", []string{"media.max_image_bytes", "media.max_attachments"}},
		{"empty data dir", ok + "[storage]\ndata_dir = \"\"\n", []string{"storage.data_dir"}},
		{"bad log level", ok + "[log]\nlevel = \"loud\"\n", []string{"log.level"}},
		{"bad log format", ok + "[log]\nformat = \"xml\"\n", []string{"log.format"}},
		{"bad delivery age", ok + "[federation]\ndelivery_max_age = \"3 days\"\n", []string{"federation.delivery_max_age"}},
		{"short delivery age", ok + "[federation]\ndelivery_max_age = \"5m\"\n", []string{"federation.delivery_max_age", "1h"}},
		{"private addresses not a bool", ok + "[federation]\nallow_private_addresses = \"yes\"\n", []string{"federation.allow_private_addresses"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tt.content))
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestLoadConfig_defaultsAndValues(t *testing.T) {
	c, err := loadConfig(writeConfig(t, "[instance]\ndomain = \"social.example.org\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Protocol != "https" || c.HTTP.Listen != "127.0.0.1:8080" || c.Storage.DataDir != "./data" || c.Instance.Title != "Rhizome" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = loadConfig(writeConfig(t, `
[instance]
domain = "localhost:3000"
title = "My place"
[http]
listen = "[::1]:3000"
protocol = "http"
[federation]
allow_private_addresses = true
delivery_max_age = "96h"
[storage]
data_dir = "/var/lib/rhizome"
[media]
max_image_bytes = 8388608
max_attachments = 6
[log]
level = "debug"
format = "json"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Instance:   InstanceConfig{Domain: "localhost:3000", Title: "My place"},
		HTTP:       HTTPConfig{Listen: "[::1]:3000", Protocol: "http", MaxBodyBytes: 1 << 20},
		Federation: FederationConfig{AllowPrivateAddresses: true, DeliveryMaxAge: "96h"},
		Storage:    StorageConfig{DataDir: "/var/lib/rhizome"},
		Media:      MediaConfig{MaxImageBytes: 8 << 20, MaxVideoBytes: 99 << 20, MaxImagePixels: 7680 * 4320, MaxAttachments: 6},
		Log:        LogConfig{Level: "debug", Format: "json"},
	}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestLoadConfig_noFileIsDevelopment(t *testing.T) {
	c, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Instance.Domain != "localhost:8080" || c.HTTP.Protocol != "http" || c.HTTP.Listen != "localhost:8080" || c.Storage.DataDir != "./data" {
		t.Fatalf("development config: %+v", c)
	}
	if err := c.validate(); err != nil {
		t.Fatalf("development config is invalid: %v", err)
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("a missing file given with --config was accepted")
	}
}

// TestExampleConfigIsValid keeps config.example.toml loadable.
func TestExampleConfigIsValid(t *testing.T) {
	if _, err := loadConfig("../../config.example.toml"); err != nil {
		t.Fatal(err)
	}
}
