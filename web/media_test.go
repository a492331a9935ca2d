package web

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/storage/blobs"
	"github.com/rhizome-fed/rhizome/web/media"
)

// gpsMarker is an EXIF text the tests look for in stored files: it sits
// next to the GPS coordinates in the upload and must not survive.
const gpsMarker = "RHIZOME-SECRET-LOCATION"

// testPicture draws a w×h image with some structure, so blurhashes and
// previews are not flat.
func testPicture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255})
		}
	}
	return img
}

// exifWithGPS builds an APP1 EXIF segment whose IFD0 has an
// ImageDescription (the marker) and a GPS IFD with a latitude.
func exifWithGPS() []byte {
	le := binary.LittleEndian
	var tiff []byte
	tiff = append(tiff, 'I', 'I', 42, 0, 8, 0, 0, 0)
	// IFD0 at 8: two entries, next IFD 0.
	desc := []byte(gpsMarker + "\x00")
	ifd0 := 8
	gpsIFD := ifd0 + 2 + 2*12 + 4
	gpsData := gpsIFD + 2 + 2*12 + 4
	descAt := gpsData + 24
	entry := func(tag, typ uint16, count, value uint32) []byte {
		e := make([]byte, 12)
		le.PutUint16(e, tag)
		le.PutUint16(e[2:], typ)
		le.PutUint32(e[4:], count)
		le.PutUint32(e[8:], value)
		return e
	}
	tiff = le.AppendUint16(tiff, 2)
	tiff = append(tiff, entry(0x010e, 2, uint32(len(desc)), uint32(descAt))...) // ImageDescription
	tiff = append(tiff, entry(0x8825, 4, 1, uint32(gpsIFD))...)                 // GPS IFD pointer
	tiff = le.AppendUint32(tiff, 0)
	tiff = le.AppendUint16(tiff, 2)
	tiff = append(tiff, entry(0x0001, 2, 2, uint32('N'))...)     // GPSLatitudeRef
	tiff = append(tiff, entry(0x0002, 5, 3, uint32(gpsData))...) // GPSLatitude
	tiff = le.AppendUint32(tiff, 0)
	for _, v := range []uint32{48, 1, 51, 1, 2959, 100} { // 48°51'29.59"
		tiff = le.AppendUint32(tiff, v)
	}
	tiff = append(tiff, desc...)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// jpegWithGPS encodes a picture and splices the EXIF segment in after SOI.
func jpegWithGPS(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testPicture(w, h), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	out := append([]byte{0xff, 0xd8}, exifWithGPS()...)
	return append(out, b[2:]...)
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testPicture(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gifBytes(t *testing.T) []byte {
	t.Helper()
	pal := color.Palette{color.Black, color.White, color.RGBA{255, 0, 0, 255}}
	anim := &gif.GIF{}
	for i := range 2 {
		frame := image.NewPaletted(image.Rect(0, 0, 40, 30), pal)
		for x := range 40 {
			frame.SetColorIndex(x, (x+i)%30, uint8(1+i))
		}
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts a file (and extra fields) as multipart/form-data.
func upload(t *testing.T, client *http.Client, url, token string, file []byte, fields map[string]string, out any) *http.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "upload.bin") // the name says nothing: the content decides
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, err := http.NewRequestWithContext(t.Context(), "POST", url, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %d, not JSON: %s", url, resp.StatusCode, data)
		}
	}
	return resp
}

func fetch(t *testing.T, client *http.Client, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// blobCount collects released files, as the server does every few
// minutes, and counts the files left in a store's blob folder.
func blobCount(t *testing.T, s *storage.Store) int {
	t.Helper()
	if _, err := s.CollectBlobs(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.Blobs().Walk(func(blobs.Blob, time.Time) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMedia_uploadFormats uploads every image format and checks what is
// stored and served: type from the content, metadata stripped, preview,
// blurhash, meta, caching headers and range requests.
func TestMedia_uploadFormats(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	token := apiToken(t, ts.Server, alice, "read", "write")
	webp, err := os.ReadFile("media/testdata/still-lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mime string
		file       []byte
		w, h       int
	}{
		{"jpeg with GPS", "image/jpeg", jpegWithGPS(t, 800, 600), 800, 600},
		{"png", "image/png", pngBytes(t, 300, 200), 300, 200},
		{"gif", "image/gif", gifBytes(t), 40, 30},
		{"webp", "image/webp", webp, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			resp := upload(t, http.DefaultClient, ts.URL+"/api/v2/media", token, tt.file,
				map[string]string{"description": "alt for " + tt.name, "focus": "0.5,-0.25"}, &m)
			if resp.StatusCode != 200 {
				t.Fatalf("upload: %d %v", resp.StatusCode, m)
			}
			if m["type"] != "image" || m["description"] != "alt for "+tt.name || m["blurhash"] == nil || m["blurhash"] == "" {
				t.Errorf("entity: %v", m)
			}
			meta, _ := m["meta"].(map[string]any)
			original, _ := meta["original"].(map[string]any)
			focus, _ := meta["focus"].(map[string]any)
			if original == nil || meta["small"] == nil || focus["x"] != 0.5 || focus["y"] != -0.25 {
				t.Errorf("meta: %v", meta)
			}
			if tt.w > 0 && (original["width"] != float64(tt.w) || original["height"] != float64(tt.h)) {
				t.Errorf("original size: %v, want %dx%d", original, tt.w, tt.h)
			}
			url, _ := m["url"].(string)
			resp, body := fetch(t, http.DefaultClient, url, nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.mime {
				t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers: %v", resp.Header)
			}
			for _, secret := range []string{gpsMarker, "Exif\x00\x00"} {
				if bytes.Contains(body, []byte(secret)) {
					t.Errorf("served file still holds %q", secret)
				}
			}
			if _, _, err := image.Decode(bytes.NewReader(body)); err != nil && tt.mime != "image/webp" {
				t.Errorf("served file does not decode: %v", err)
			}
			preview, _ := m["preview_url"].(string)
			if resp, data := fetch(t, http.DefaultClient, preview, nil); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
				t.Errorf("preview: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			} else if cfg, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.Width > 640 || cfg.Height > 640 {
				t.Errorf("preview %dx%d: %v", cfg.Width, cfg.Height, err)
			}
			// A range request answers just those bytes.
			resp, part := fetch(t, http.DefaultClient, url, http.Header{"Range": {"bytes=2-11"}})
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[2:12]) ||
				resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 2-11/%d", len(body)) {
				t.Errorf("range: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Range"), part)
			}
		})
	}
	// The stored files hold no trace of the location either.
	if err := ts.Store().Blobs().Walk(func(b blobs.Blob, _ time.Time) error {
		f, err := ts.Store().Blobs().Open(b.Hash)
		if err != nil {
			return err
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if bytes.Contains(data, []byte(gpsMarker)) {
			t.Errorf("stored blob %s holds the GPS marker", b.Hash)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMedia_refusals: oversized, corrupt and non-media files are 422s and
// nothing is stored.
func TestMedia_refusals(t *testing.T) {
	hs, srv := newServerWith(t, func(o *Options) { o.Media.MaxImageBytes = 16 << 10; o.Media.MaxImagePixels = 1000 * 1000 })
	alice, err := srv.Instance().CreateAccount(t.Context(), activitypub.NewAccount{Username: "alice", Email: "a@example.org", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	token := apiToken(t, srv, alice.Account, "write:media")
	good := pngBytes(t, 50, 50)
	// The limits in force are the ones apps are told.
	var instance map[string]any
	call(t, "GET", hs+"/api/v2/instance", "", nil, &instance)
	config := instance["configuration"].(map[string]any)
	limits := config["media_attachments"].(map[string]any)
	if limits["image_size_limit"] != float64(16<<10) || limits["image_matrix_limit"] != float64(1000*1000) ||
		config["statuses"].(map[string]any)["max_media_attachments"] != float64(4) {
		t.Errorf("advertised limits: %v, statuses %v", limits, config["statuses"])
	}
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"oversized", jpegWithGPS(t, 900, 900), "too large"},
		{"too many pixels", pngClaiming(t, 40000, 40000), "pixels"},
		{"truncated png", good[:len(good)/2], "corrupt"},
		{"html named as an image", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "accept"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "accept"},
		{"no file", nil, "blank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body map[string]any
			resp := upload(t, http.DefaultClient, hs+"/api/v2/media", token, tt.file, nil, &body)
			msg, _ := body["error"].(string)
			if resp.StatusCode != 422 || !strings.Contains(msg, tt.want) {
				t.Errorf("%d %v, want 422 mentioning %q", resp.StatusCode, body, tt.want)
			}
		})
	}
	if n := blobCount(t, srv.Store()); n != 0 {
		t.Errorf("%d files stored after refusals", n)
	}
	// Without the write:media scope, no upload.
	readOnly := apiToken(t, srv, alice.Account, "read")
	if resp := upload(t, http.DefaultClient, hs+"/api/v2/media", readOnly, good, nil, nil); resp.StatusCode != 403 {
		t.Errorf("upload with a read token: %d", resp.StatusCode)
	}
	// Only multipart uploads get the larger body limit: a huge JSON body
	// to update_credentials is refused as any other.
	huge := map[string]any{"note": strings.Repeat("x", 2<<20)}
	if resp := call(t, "PATCH", hs+"/api/v1/accounts/update_credentials", token, huge, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB JSON to update_credentials: %d, want 413", resp.StatusCode)
	}
	// Thirty uploads per half hour per account, as Mastodon.
	bob, err := srv.Instance().CreateAccount(t.Context(), activitypub.NewAccount{Username: "bob", Email: "b@example.org", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	bobToken := apiToken(t, srv, bob.Account, "write")
	tiny := pngBytes(t, 8, 8)
	for i := range 30 {
		if resp := upload(t, http.DefaultClient, hs+"/api/v1/media", bobToken, tiny, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("upload %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp := upload(t, http.DefaultClient, hs+"/api/v1/media", bobToken, tiny, nil, nil); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("31st upload: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// pngClaiming is a small PNG whose header claims w×h pixels: a
// decompression bomb's first bytes.
func pngClaiming(t *testing.T, w, h int) []byte {
	t.Helper()
	b := pngBytes(t, 8, 8)
	ihdr := b[8:33] // length, "IHDR", 13 bytes of data, CRC
	binary.BigEndian.PutUint32(ihdr[8:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[12:], uint32(h))
	binary.BigEndian.PutUint32(ihdr[21:], crc32.ChecksumIEEE(ihdr[4:21]))
	return b
}

// newServerWith starts a test server with changed options.
func newServerWith(t *testing.T, configure func(*Options)) (string, *Server) {
	t.Helper()
	n := newNetwork()
	nd := n.start(t, "media.test", t.TempDir(), configure)
	n.mu.Lock()
	addr := n.addrs["media.test"]
	n.mu.Unlock()
	_ = nd
	return "http://" + addr, nd.srv
}

// noisyPNG is a PNG that does not compress: w×h×4 bytes and more.
func noisyPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	state := uint32(1)
	for i := range img.Pix {
		state = state*1664525 + 1013904223
		img.Pix[i] = byte(state >> 24)
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMedia_postFederates uploads on a, attaches to a post and checks the
// post reaching b with its alt text, blurhash and size, and b serving the
// file from its own cache; then edits and deletes release the files.
func TestMedia_postFederates(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	alice := a.account("alice", false)
	mallory := a.account("mallory", false)
	bob := b.account("bob", false)
	b.followAndWait(bob, "alice@a.test", alice.URI)
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	token := apiToken(t, a.srv, alice, "read", "write")

	var small, large map[string]any
	if resp := upload(t, client, "http://a.test/api/v2/media", token, jpegWithGPS(t, 640, 480),
		map[string]string{"description": "a gradient"}, &small); resp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", resp.StatusCode, small)
	}
	// A large file is processed in the background: 202, then 206 until done.
	if resp := upload(t, client, "http://a.test/api/v2/media", token, noisyPNG(t, 1100, 1000), nil, &large); resp.StatusCode != 202 || large["url"] != nil {
		t.Fatalf("large upload: %d %v", resp.StatusCode, large)
	}
	largeURL := "http://a.test/api/v1/media/" + large["id"].(string)
	eventually(t, "large upload processed", func() bool {
		resp := callWith(t, client, "GET", largeURL, token, nil, &large)
		return resp.StatusCode == 200 && large["url"] != nil
	})
	// Alt text set after the upload.
	var updated map[string]any
	callWith(t, client, "PUT", largeURL, token, map[string]any{"description": "noise", "focus": "-1,1"}, &updated)
	if updated["description"] != "noise" {
		t.Fatalf("PUT media: %v", updated)
	}
	// Someone else's upload cannot be attached, nor more than four files.
	malloryToken := apiToken(t, a.srv, mallory, "write")
	var refused map[string]any
	if resp := callWith(t, client, "POST", "http://a.test/api/v1/statuses", malloryToken, map[string]any{"status": "mine now", "media_ids": []string{small["id"].(string)}}, &refused); resp.StatusCode != 422 {
		t.Errorf("attaching another's upload: %d %v", resp.StatusCode, refused)
	}
	five := []string{small["id"].(string), large["id"].(string)}
	for range 3 {
		var extra map[string]any
		upload(t, client, "http://a.test/api/v1/media", token, pngBytes(t, 8, 8), nil, &extra)
		five = append(five, extra["id"].(string))
	}
	if resp := callWith(t, client, "POST", "http://a.test/api/v1/statuses", token, map[string]any{"status": "many", "media_ids": five}, nil); resp.StatusCode != 422 {
		t.Errorf("five attachments: %d", resp.StatusCode)
	}
	// A file named twice is attached once.
	var twice map[string]any
	if resp := callWith(t, client, "POST", "http://a.test/api/v1/statuses", token, map[string]any{"status": "twice",
		"media_ids": []string{five[4], five[4]}}, &twice); resp.StatusCode != 200 || len(twice["media_attachments"].([]any)) != 1 {
		t.Errorf("one file twice: %d %v", resp.StatusCode, twice)
	}

	var posted map[string]any
	resp := callWith(t, client, "POST", "http://a.test/api/v1/statuses", token, map[string]any{"status": "pictures",
		"media_ids": []string{small["id"].(string), large["id"].(string)}}, &posted)
	if resp.StatusCode != 200 || len(posted["media_attachments"].([]any)) != 2 {
		t.Fatalf("post: %d %v", resp.StatusCode, posted)
	}
	// An upload not on a post can be deleted; one on a post cannot.
	if resp := callWith(t, client, "DELETE", "http://a.test/api/v1/media/"+five[2], token, nil, nil); resp.StatusCode != 200 {
		t.Errorf("DELETE unattached media: %d", resp.StatusCode)
	}
	if resp := callWith(t, client, "GET", "http://a.test/api/v1/media/"+five[2], token, nil, nil); resp.StatusCode != 404 {
		t.Errorf("deleted media: %d", resp.StatusCode)
	}
	if resp := callWith(t, client, "DELETE", "http://a.test/api/v1/media/"+small["id"].(string), token, nil, nil); resp.StatusCode != 422 {
		t.Errorf("DELETE attached media: %d", resp.StatusCode)
	}
	// Attached uploads can no longer be changed through the media API.
	if resp := callWith(t, client, "PUT", largeURL, token, map[string]any{"description": "later"}, nil); resp.StatusCode != 404 {
		t.Errorf("PUT attached media: %d", resp.StatusCode)
	}
	var remote *storage.Status
	eventually(t, "post with media on b", func() bool {
		remote = b.statusByURI(posted["uri"].(string))
		return remote != nil
	})
	var media []*storage.Media
	if err := b.srv.Store().View(func(tx *storage.Tx) error {
		var err error
		media, err = tx.StatusMedia(remote)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(media) != 2 {
		t.Fatalf("b holds %d attachments", len(media))
	}
	if m := media[0]; m.Description != "a gradient" || m.Blurhash != small["blurhash"] || m.Width != 640 || m.Height != 480 || m.MIME != "image/jpeg" {
		t.Errorf("first attachment on b: %+v", m)
	}
	if m := media[1]; m.Description != "noise" || m.FocusX != -1 || m.FocusY != 1 || m.MIME != "image/png" {
		t.Errorf("second attachment on b: %+v", m)
	}
	// b serves the file from its cache: same bytes as a's.
	bobToken := apiToken(t, b.srv, bob, "read")
	var onB map[string]any
	callWith(t, client, "GET", "http://b.test/api/v1/statuses/"+remote.ID.String(), bobToken, nil, &onB)
	att := onB["media_attachments"].([]any)[0].(map[string]any)
	proxied, _ := att["url"].(string)
	if !strings.HasPrefix(proxied, "http://b.test/media/proxy/") || att["remote_url"] != small["url"] || att["description"] != "a gradient" {
		t.Fatalf("attachment on b: %v", att)
	}
	_, original := fetch(t, client, small["url"].(string), nil)
	// The proxy URL cannot be guessed from the attachment's ID.
	for _, guess := range []string{proxied[:strings.LastIndex(proxied, "/")], proxied[:len(proxied)-1] + "0", proxied[:len(proxied)-1] + "1"} {
		if guess == proxied {
			continue
		}
		if resp, _ := fetch(t, client, guess, nil); resp.StatusCode != 404 {
			t.Errorf("guessed proxy URL %s: %d", guess, resp.StatusCode)
		}
	}
	// A request carrying our own fetch marker came back to us: refused.
	if resp, _ := fetch(t, client, proxied, http.Header{activitypub.ProxyHeader: {"1"}}); resp.StatusCode != 404 {
		t.Errorf("proxy request from ourselves: %d", resp.StatusCode)
	}
	resp, copied := fetch(t, client, proxied, nil)
	if resp.StatusCode != 200 || !bytes.Equal(copied, original) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("proxied file: %d %s, %d bytes (original %d)", resp.StatusCode, resp.Header.Get("Content-Type"), len(copied), len(original))
	}

	// An edit dropping the large file releases it; deleting the post
	// releases the rest, on both sides.
	id := posted["id"].(string)
	if resp := callWith(t, client, "PUT", "http://a.test/api/v1/statuses/"+id, token, map[string]any{"status": "one picture",
		"media_ids":        []string{small["id"].(string)},
		"media_attributes": []map[string]any{{"id": small["id"], "description": "a better gradient", "focus": "0.1,0.2"}},
	}, &posted); resp.StatusCode != 200 || len(posted["media_attachments"].([]any)) != 1 ||
		posted["media_attachments"].([]any)[0].(map[string]any)["description"] != "a better gradient" {
		t.Fatalf("edit: %d %v", resp.StatusCode, posted)
	}
	if resp, _ := fetch(t, client, large["url"].(string), nil); resp.StatusCode != 404 {
		t.Errorf("dropped attachment still served: %d", resp.StatusCode)
	}
	// An edit without media_ids keeps the files; "media_ids": [] removes
	// them (checked on the "twice" post, whose file is not needed later).
	var edited map[string]any
	callWith(t, client, "PUT", "http://a.test/api/v1/statuses/"+twice["id"].(string), token, map[string]any{"status": "twice, edited"}, &edited)
	if len(edited["media_attachments"].([]any)) != 1 {
		t.Errorf("edit without media_ids: %v", edited["media_attachments"])
	}
	callWith(t, client, "PUT", "http://a.test/api/v1/statuses/"+twice["id"].(string), token, map[string]any{"status": "twice, no file", "media_ids": []string{}}, &edited)
	if len(edited["media_attachments"].([]any)) != 0 {
		t.Errorf("edit with media_ids []: %v", edited["media_attachments"])
	}
	eventually(t, "edit on b", func() bool {
		s := b.statusByURI(posted["uri"].(string))
		if s == nil || len(s.MediaIDs) != 1 {
			return false
		}
		var m *storage.Media
		_ = b.srv.Store().View(func(tx *storage.Tx) error {
			m, _ = tx.Media(s.MediaIDs[0])
			return nil
		})
		return m != nil && m.Description == "a better gradient" && m.FocusX == 0.1 && m.FocusY == 0.2
	})
	var deleted map[string]any
	if resp := callWith(t, client, "DELETE", "http://a.test/api/v1/statuses/"+id, token, nil, &deleted); resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	eventually(t, "delete on b", func() bool { return b.statusByURI(posted["uri"].(string)) == nil })
	// Delete and redraft: the answer still shows the picture, and the
	// upload can be attached to the new post.
	kept := deleted["media_attachments"].([]any)[0].(map[string]any)
	if resp, _ := fetch(t, client, kept["url"].(string), nil); resp.StatusCode != 200 {
		t.Errorf("picture of the deleted post: %d, want it kept for a redraft", resp.StatusCode)
	}
	var redraft map[string]any
	if resp := callWith(t, client, "POST", "http://a.test/api/v1/statuses", token, map[string]any{"status": deleted["text"],
		"media_ids": []string{kept["id"].(string)}}, &redraft); resp.StatusCode != 200 || len(redraft["media_attachments"].([]any)) != 1 {
		t.Fatalf("redraft: %d %v", resp.StatusCode, redraft)
	}
	eventually(t, "the redraft on b", func() bool { return b.statusByURI(redraft["uri"].(string)) != nil })
	if resp := callWith(t, client, "DELETE", "http://a.test/api/v1/statuses/"+redraft["id"].(string), token, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("delete the redraft: %d", resp.StatusCode)
	}
	eventually(t, "redraft deleted on b", func() bool { return b.statusByURI(redraft["uri"].(string)) == nil })
	if nBlobs := blobCount(t, b.srv.Store()); nBlobs != 0 {
		t.Errorf("b keeps %d cached files after the delete", nBlobs)
	}
}

// testVideo returns a one-second MP4: made by ffmpeg when it is installed
// (then the server also uses ffmpeg, and a preview frame is expected),
// else a minimal MP4 header, which is stored as it is.
func testVideo(t *testing.T) (data []byte, withFFmpeg bool) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		out := filepath.Join(t.TempDir(), "clip.mp4")
		cmd := exec.CommandContext(t.Context(), "ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
			"-t", "1", "-c:v", "mpeg4", "-metadata", "title="+gpsMarker, out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v: %s", err, msg)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data, true
	}
	box := []byte{0, 0, 0, 24, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0, 'i', 's', 'o', 'm', 'm', 'p', '4', '1'}
	return append(box, 0, 0, 0, 8, 'm', 'd', 'a', 't'), false
}

// TestMedia_videoAvatarAndCleanup uploads a video (processed in the
// background), sets an avatar and a header through update_credentials,
// sees a remote instance serve them from its cache, and checks that an
// upload never attached is removed after a day.
func TestMedia_videoAvatarAndCleanup(t *testing.T) {
	n := newNetwork()
	dirA := t.TempDir()
	// An upload left unattached for 25 hours, written before a starts: its
	// first sweep removes it.
	stale := seedStaleUpload(t, dirA)
	// A copy of a remote file fetched 40 days ago: with a 30-day cache
	// retention, the first sweep drops it.
	oldCopy := seedRemoteFile(t, dirA, 40*24*time.Hour)
	a := n.start(t, "a.test", dirA, func(o *Options) { o.RemoteCacheAge = 30 * 24 * time.Hour })
	b := n.start(t, "b.test", t.TempDir())
	alice := a.account("alice", false)
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	token := apiToken(t, a.srv, alice, "read", "write")

	eventually(t, "old cached copy dropped", func() bool {
		var gone bool
		_ = a.srv.Store().View(func(tx *storage.Tx) error {
			_, err := tx.RemoteFile(oldCopy)
			gone = errors.Is(err, storage.ErrNotFound)
			return nil
		})
		return gone
	})
	eventually(t, "stale upload removed", func() bool {
		var gone bool
		_ = a.srv.Store().View(func(tx *storage.Tx) error {
			_, err := tx.Media(stale)
			gone = errors.Is(err, storage.ErrNotFound)
			return nil
		})
		return gone
	})

	video, withFFmpeg := testVideo(t)
	var m map[string]any
	if resp := upload(t, client, "http://a.test/api/v2/media", token, video, nil, &m); resp.StatusCode != 202 {
		t.Fatalf("video upload: %d %v", resp.StatusCode, m)
	}
	eventually(t, "video processed", func() bool {
		return callWith(t, client, "GET", "http://a.test/api/v1/media/"+m["id"].(string), token, nil, &m).StatusCode == 200
	})
	if m["type"] != "video" || m["url"] == nil {
		t.Fatalf("video: %v", m)
	}
	resp, stored := fetch(t, client, m["url"].(string), nil)
	if resp.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("video served as %q", resp.Header.Get("Content-Type"))
	}
	if withFFmpeg {
		original := m["meta"].(map[string]any)["original"].(map[string]any)
		meta := m["meta"].(map[string]any)
		if m["preview_url"] == nil || original["width"] != float64(64) || original["duration"] == nil ||
			meta["duration"] != original["duration"] || !strings.HasPrefix(meta["length"].(string), "0:00:0") {
			t.Errorf("video with ffmpeg: preview %v, meta %v", m["preview_url"], meta)
		}
		if bytes.Contains(stored, []byte(gpsMarker)) {
			t.Error("video metadata not stripped")
		}
	} else if m["preview_url"] != nil {
		t.Errorf("video without ffmpeg has a preview: %v", m["preview_url"])
	}

	// Avatar and header, as multipart files.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for field, data := range map[string][]byte{"avatar": pngBytes(t, 120, 120), "header": jpegWithGPS(t, 600, 200)} {
		fw, _ := mw.CreateFormFile(field, field+".bin")
		_, _ = fw.Write(data)
	}
	_ = mw.WriteField("display_name", "Alice")
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "PATCH", "http://a.test/api/v1/accounts/update_credentials", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	avatar, _ := me["avatar"].(string)
	header, _ := me["header"].(string)
	if resp.StatusCode != 200 || !strings.HasPrefix(avatar, "http://a.test/media/") || !strings.HasSuffix(header, ".jpg") {
		t.Fatalf("update_credentials: %d %v", resp.StatusCode, me)
	}
	_, avatarBytes := fetch(t, client, avatar, nil)
	_, headerBytes := fetch(t, client, header, nil)
	if bytes.Contains(headerBytes, []byte(gpsMarker)) {
		t.Error("header keeps its EXIF")
	}
	// A non-image avatar is refused and changes nothing.
	var refused map[string]any
	body.Reset()
	mw = multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("avatar", "avatar.png")
	_, _ = fw.Write(video)
	_ = mw.Close()
	req, _ = http.NewRequestWithContext(t.Context(), "PATCH", "http://a.test/api/v1/accounts/update_credentials", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&refused)
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Errorf("video as avatar: %d %v", resp.StatusCode, refused)
	}

	// b learns of alice and serves her avatar and header from its cache.
	remote := b.resolve("alice@a.test")
	bob := b.account("bob", false)
	var seen map[string]any
	callWith(t, client, "GET", "http://b.test/api/v1/accounts/"+remote.ID.String(), apiToken(t, b.srv, bob, "read"), nil, &seen)
	for field, want := range map[string][]byte{"avatar": avatarBytes, "header": headerBytes} {
		link, _ := seen[field].(string)
		if !strings.HasPrefix(link, "http://b.test/media/proxy/") {
			t.Fatalf("%s on b: %q", field, link)
		}
		resp, got := fetch(t, client, link, nil)
		if resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("%s from b's cache: %d, %d bytes (want %d)", field, resp.StatusCode, len(got), len(want))
		}
	}
}

// seedStaleUpload writes, in a new data folder, an upload made 25 hours
// ago and never attached.
func seedStaleUpload(t *testing.T, dir string) storage.ID {
	t.Helper()
	id := storage.IDAt(time.Now().Add(-25 * time.Hour))
	seedFile(t, dir, func(tx *storage.Tx, b blobs.Blob) error {
		return tx.PutMedia(&storage.Media{ID: id, AccountID: 1, Type: "image", MIME: "image/png", File: b.Hash, Size: b.Size,
			CreatedAt: time.Now().Add(-25 * time.Hour)})
	})
	return id
}

// seedFile stores a small PNG in the data folder dir (the server not
// running) and lets record write what holds it.
func seedFile(t *testing.T, dir string, record func(tx *storage.Tx, b blobs.Blob) error) {
	t.Helper()
	store, err := storage.Open(filepath.Join(dir, DatabaseFile), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b, err := store.Blobs().Put(bytes.NewReader(pngBytes(t, 12, 12)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(t.Context(), func(tx *storage.Tx) error { return record(tx, b) }); err != nil {
		t.Fatal(err)
	}
}

// TestMedia_everyAcceptedTypeIsServed: each type an upload may have gets
// a URL that serves it back with that type.
func TestMedia_everyAcceptedTypeIsServed(t *testing.T) {
	ts := newTestServer(t)
	for _, mime := range media.MIMETypes() {
		link := ts.Instance().MediaURL(strings.Repeat("a", 64), mime)
		got, ok := activitypub.MediaMIME(path.Ext(link))
		if !ok || got != mime {
			t.Errorf("%s: served from %s as %q (%t)", mime, link, got, ok)
		}
	}
}

// seedRemoteFile writes, in a data folder, a cached copy of a remote file
// fetched age ago, and returns its URL.
func seedRemoteFile(t *testing.T, dir string, age time.Duration) string {
	t.Helper()
	const link = "https://remote.example/files/old.png"
	seedFile(t, dir, func(tx *storage.Tx, b blobs.Blob) error {
		return tx.PutRemoteFile(link, &storage.RemoteFile{Hash: b.Hash, MIME: "image/png", Size: b.Size, FetchedAt: time.Now().Add(-age)})
	})
	return link
}
