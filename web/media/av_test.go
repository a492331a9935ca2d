package media

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProbe(t *testing.T) {
	tests := []struct {
		name string
		json string
		want probeInfo
	}{
		{
			name: "video_and_audio",
			json: `{"streams":[{"codec_type":"video","width":320,"height":240},{"codec_type":"audio"}],"format":{"duration":"1.500000"}}`,
			want: probeInfo{video: true, dims: Dims{320, 240}, duration: 1.5},
		},
		{
			name: "rotation_side_data",
			json: `{"streams":[{"codec_type":"video","width":320,"height":240,"side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],"format":{"duration":"2"}}`,
			want: probeInfo{video: true, dims: Dims{240, 320}, duration: 2},
		},
		{
			name: "rotation_tag",
			json: `{"streams":[{"codec_type":"video","width":320,"height":240,"tags":{"rotate":"270"}}],"format":{}}`,
			want: probeInfo{video: true, dims: Dims{240, 320}},
		},
		{
			name: "rotation_180",
			json: `{"streams":[{"codec_type":"video","width":320,"height":240,"tags":{"rotate":"180"}}],"format":{}}`,
			want: probeInfo{video: true, dims: Dims{320, 240}},
		},
		{
			name: "cover_art_is_not_video",
			json: `{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":600,"height":600,"disposition":{"attached_pic":1}}],"format":{"duration":"180.2"}}`,
			want: probeInfo{duration: 180.2},
		},
		{
			name: "unknown_duration",
			json: `{"streams":[{"codec_type":"audio"}],"format":{"duration":"N/A"}}`,
			want: probeInfo{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProbe([]byte(tt.json))
			if err != nil || got != tt.want {
				t.Errorf("parseProbe = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := parseProbe([]byte("not json")); err == nil {
		t.Error("parseProbe accepted garbage")
	}
}

// Without ffmpeg, video and audio are accepted as they are: no preview, no
// dims, no duration.
func TestProcess_avWithoutFFmpeg(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		mime, typ string
	}{
		{"mp4", minimalMP4(), "video/mp4", TypeVideo},
		{"quicktime", ftyp("qt  ", "qt  "), "video/quicktime", TypeVideo},
		{"webm", ebml("webm"), "video/webm", TypeVideo},
		{"mp3_id3", id3MP3(), "audio/mpeg", TypeAudio},
		{"aac", adtsFrames(), "audio/aac", TypeAudio},
		{"ogg_opus", oggPage("OpusHead\x01\x02"), "audio/ogg", TypeAudio},
		{"flac", []byte("fLaC\x00\x00\x00\x22"), "audio/flac", TypeAudio},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := processed(t, tt.in, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if p.MIME != tt.mime || p.Type != tt.typ {
				t.Errorf("MIME, Type = %q, %q; want %q, %q", p.MIME, p.Type, tt.mime, tt.typ)
			}
			if filepath.Base(p.File) != "upload.bin" || p.Size != int64(len(tt.in)) {
				t.Errorf("File, Size = %s, %d; want the upload itself", p.File, p.Size)
			}
			if p.Preview != nil || p.Blurhash != "" || p.Original != (Dims{}) || p.Small != (Dims{}) || p.Duration != 0 {
				t.Errorf("got preview/dims without ffmpeg: %+v", p)
			}
		})
	}
}

// Process looks ffmpeg up on PATH; with none there it takes the no-ffmpeg
// path.
func TestProcess_noFFmpegOnPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if tl := lookTools(); tl != (tools{}) {
		t.Fatalf("lookTools found %+v on an empty PATH", tl)
	}
	path := upload(t, id3MP3())
	p, err := Process(t.Context(), path, Limits{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Cleanup()
	if p.File != path || p.MIME != "audio/mpeg" || p.Preview != nil {
		t.Errorf("got %+v", p)
	}
}

// ffmpegTools returns ffmpeg and ffprobe, or skips the test.
func ffmpegTools(t *testing.T) tools {
	t.Helper()
	tl := lookTools()
	if tl == (tools{}) {
		const msg = "ffmpeg or ffprobe not on PATH: the ffmpeg path of Process is not tested"
		if os.Getenv("RHIZOME_CI") == "1" {
			t.Fatal(msg + " (RHIZOME_CI=1: .ci/run installs ffmpeg, so a missing one fails)")
		}
		t.Skip(msg)
	}
	return tl
}

// makeMedia has ffmpeg write a test file from lavfi sources.
func makeMedia(t *testing.T, tl tools, name string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	args = append(append([]string{"-nostdin", "-v", "error", "-y"}, args...), out)
	if msg, err := exec.CommandContext(t.Context(), tl.ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProcess_avWithFFmpeg(t *testing.T) {
	tl := ffmpegTools(t)
	tags := []string{"-metadata:s:0", "title=SECRET-STREAM", "-metadata", "title=SECRET-TITLE", "-metadata", "comment=SECRET-COMMENT", "-metadata", "location=+48.8577+002.2950/"}
	video := []string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1", "-f", "lavfi", "-i", "sine=frequency=440:duration=1"}
	mp4 := makeMedia(t, tl, "in.mp4", append(append(video, tags...), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")...)
	tests := []struct {
		name      string
		in        []byte
		mime, typ string
		dims      Dims
	}{
		{"mp4", mp4, "video/mp4", TypeVideo, Dims{320, 240}},
		{"webm", makeMedia(t, tl, "in.webm", append(append(video, tags...), "-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-shortest")...), "video/webm", TypeVideo, Dims{320, 240}},
		{"mp3", makeMedia(t, tl, "in.mp3", append([]string{"-f", "lavfi", "-i", "sine=frequency=440:duration=1"}, append(tags, "-c:a", "libmp3lame")...)...), "audio/mpeg", TypeAudio, Dims{}},
		{"webm_audio_only", makeMedia(t, tl, "a.webm", append([]string{"-f", "lavfi", "-i", "sine=frequency=440:duration=1"}, append(tags, "-c:a", "libopus")...)...), "audio/webm", TypeAudio, Dims{}},
		{"flac", makeMedia(t, tl, "in.flac", append([]string{"-f", "lavfi", "-i", "sine=frequency=440:duration=1"}, tags...)...), "audio/flac", TypeAudio, Dims{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(tt.in, []byte("SECRET-TITLE")) {
				t.Fatal("the test input carries no metadata to strip")
			}
			p, err := processWith(t, tt.in, Limits{}, tl)
			if err != nil {
				t.Fatal(err)
			}
			if p.MIME != tt.mime || p.Type != tt.typ || p.Original != tt.dims {
				t.Errorf("MIME, Type, Original = %q, %q, %v; want %q, %q, %v", p.MIME, p.Type, p.Original, tt.mime, tt.typ, tt.dims)
			}
			if p.Duration < 0.9 || p.Duration > 1.2 {
				t.Errorf("Duration = %v, want about 1", p.Duration)
			}
			if filepath.Base(p.File) == "upload.bin" {
				t.Error("the upload was stored as it is")
			}
			stored := readStored(t, p)
			assertAbsent(t, stored, "SECRET", "48.8577")
			// What is stored still plays: ffprobe reads it.
			if _, err := runTool(t.Context(), DefaultCommandTimeout, strings.NewReplacer(), tl.ffprobe, "-v", "error", "-show_streams", p.File); err != nil {
				t.Errorf("ffprobe of the stored file: %v", err)
			}
			if tt.typ == TypeAudio {
				if p.Preview != nil || p.Blurhash != "" {
					t.Error("audio got a preview")
				}
				return
			}
			if p.Small != tt.dims {
				t.Errorf("Small = %v, want %v", p.Small, tt.dims)
			}
			checkPreview(t, p)
		})
	}

	t.Run("rotated", func(t *testing.T) {
		in := filepath.Join(t.TempDir(), "in.mp4")
		if err := os.WriteFile(in, mp4, 0o600); err != nil {
			t.Fatal(err)
		}
		rotated := makeMedia(t, tl, "rot.mp4", "-i", in, "-c", "copy", "-metadata:s:v:0", "rotate=90")
		p, err := processWith(t, rotated, Limits{}, tl)
		if err != nil {
			t.Fatal(err)
		}
		if p.Original == (Dims{320, 240}) {
			t.Skip("this ffmpeg does not set rotation with -metadata rotate")
		}
		if p.Original != (Dims{240, 320}) || p.Small != (Dims{240, 320}) {
			t.Errorf("Original %v, Small %v; want 240x320 both", p.Original, p.Small)
		}
	})

	t.Run("not_really_mp4", func(t *testing.T) {
		_, err := processWith(t, minimalMP4(), Limits{}, tl)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		if strings.Contains(err.Error(), os.TempDir()) {
			t.Errorf("error message shows a path: %q", err)
		}
	})

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		tmpDir := t.TempDir()
		_, err := process(ctx, upload(t, mp4), Limits{}, tmpDir, func() tools { return tl })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		assertEmptyDir(t, tmpDir)
	})
}

// TestProcess_videoPixelLimit: a video frame larger than MaxImagePixels is
// refused before any frame is decoded.
func TestProcess_videoPixelLimit(t *testing.T) {
	tl := ffmpegTools(t)
	mp4 := makeMedia(t, tl, "wide.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1", "-c:v", "mpeg4")
	if _, err := processWith(t, mp4, Limits{MaxImagePixels: 320*240 - 1}, tl); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("320x240 video with a limit of one pixel less: %v, want ErrTooManyPixels", err)
	}
	if _, err := processWith(t, mp4, Limits{MaxImagePixels: 320 * 240}, tl); err != nil {
		t.Errorf("320x240 video at the limit: %v", err)
	}
}
