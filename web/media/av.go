package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

const (
	// frameMax bounds the frame ffmpeg hands over for the preview; the
	// preview itself is made from it as from an image.
	frameMax = 2 * previewMax
	// maxToolOutput bounds what is read from a tool's standard output (the
	// PNG frame, or ffprobe's JSON).
	maxToolOutput = 64 << 20
	// maxToolStderr bounds what is kept of a tool's standard error.
	maxToolStderr = 4 << 10
)

// ffmpegFormat is the ffmpeg demuxer and muxer for each MIME type Sniff
// returns for video and audio. Naming the demuxer stops ffmpeg from probing
// the content as something else (a playlist that fetches URLs, say).
var ffmpegFormat = map[string]struct{ demux, mux string }{
	"video/mp4":       {"mov", "mp4"},
	"video/quicktime": {"mov", "mov"},
	"video/webm":      {"matroska", "webm"},
	"video/ogg":       {"ogg", "ogg"},
	"audio/mp4":       {"mov", "mp4"},
	"audio/mpeg":      {"mp3", "mp3"},
	"audio/aac":       {"aac", "adts"},
	"audio/ogg":       {"ogg", "ogg"},
	"audio/wave":      {"wav", "wav"},
	"audio/flac":      {"flac", "flac"},
}

// audioOnlyMIME is the MIME type of a container that Sniff took for video
// but that ffprobe finds holds no video.
var audioOnlyMIME = map[string]string{
	"video/mp4":  "audio/mp4",
	"video/webm": "audio/webm",
	"video/ogg":  "audio/ogg",
}

// processAV handles video and audio. Without ffmpeg and ffprobe the upload
// is stored as it is. With them, ffprobe reads the dims and duration,
// ffmpeg copies the streams into a new file without metadata, chapters,
// data or subtitle streams or cover art, and a first frame becomes the
// preview of a video.
func processAV(ctx context.Context, path string, size int64, p *Processed, lim Limits, tmpDir string, tl tools) error {
	if tl.ffmpeg == "" || tl.ffprobe == "" {
		p.File, p.Size = path, size
		return nil
	}
	fmts, ok := ffmpegFormat[p.MIME]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnsupported, p.MIME)
	}
	input := "file:" + path
	hide := strings.NewReplacer(path, "upload", tmpDir, "tmp") // in messages that may reach the uploader
	out, err := runTool(ctx, lim.CommandTimeout, hide, tl.ffprobe,
		"-v", "error", "-protocol_whitelist", "file", "-f", fmts.demux,
		"-print_format", "json", "-show_format", "-show_streams", input)
	if err != nil {
		return err
	}
	info, err := parseProbe(out)
	if err != nil {
		return err
	}
	switch {
	case p.Type == TypeVideo && !info.video:
		p.Type = TypeAudio
		if m, ok := audioOnlyMIME[p.MIME]; ok {
			p.MIME = m
		}
	case p.Type == TypeVideo:
		p.Original = info.dims
		if int64(info.dims.Width)*int64(info.dims.Height) > lim.MaxImagePixels {
			return fmt.Errorf("%w: video is %dx%d, limit is %d pixels", ErrTooManyPixels, info.dims.Width, info.dims.Height, lim.MaxImagePixels)
		}
	}
	p.Duration = info.duration

	f, err := p.createTemp(tmpDir, extension(p.MIME))
	if err != nil {
		return err
	}
	f.Close()
	p.File = f.Name()
	args := []string{"-nostdin", "-v", "error", "-y", "-protocol_whitelist", "file", "-f", fmts.demux, "-i", input,
		"-map", "0:V?", "-map", "0:a?", // video and audio; no cover art, data (GPS tracks), subtitles
		"-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy",
		"-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"}
	if fmts.mux == "mp4" || fmts.mux == "mov" {
		args = append(args, "-movflags", "+faststart")
	}
	args = append(args, "-f", fmts.mux, "file:"+p.File)
	if _, err := runTool(ctx, lim.CommandTimeout, hide, tl.ffmpeg, args...); err != nil {
		return err
	}
	st, err := os.Stat(p.File)
	if err != nil {
		return fmt.Errorf("stat stripped %s: %w", p.Type, err)
	}
	p.Size = st.Size()

	if p.Type != TypeVideo {
		return nil
	}
	scale := fmt.Sprintf("scale=w='min(%d,iw)':h='min(%d,ih)':force_original_aspect_ratio=decrease", frameMax, frameMax)
	frame, err := runTool(ctx, lim.CommandTimeout, hide, tl.ffmpeg,
		"-nostdin", "-v", "error", "-protocol_whitelist", "file", "-f", fmts.demux, "-i", input,
		"-map", "0:V:0", "-frames:v", "1", "-vf", scale, "-f", "image2pipe", "-c:v", "png", "-")
	if err != nil {
		return err
	}
	img, err := png.Decode(bytes.NewReader(frame))
	if err != nil {
		return fmt.Errorf("%w: no video frame could be decoded: %w", ErrCorrupt, err)
	}
	return p.setPreview(img)
}

// probeInfo is what processAV uses of ffprobe's report.
type probeInfo struct {
	video    bool // has a video stream that is not cover art
	dims     Dims // of the first such stream, as displayed (rotation applied)
	duration float64
}

// parseProbe reads ffprobe's JSON (-show_format -show_streams).
func parseProbe(out []byte) (probeInfo, error) {
	var pr struct {
		Streams []struct {
			CodecType   string `json:"codec_type"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
			Disposition struct {
				AttachedPic int `json:"attached_pic"`
			} `json:"disposition"`
			Tags struct {
				Rotate string `json:"rotate"`
			} `json:"tags"`
			SideData []struct {
				Rotation float64 `json:"rotation"`
			} `json:"side_data_list"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &pr); err != nil {
		return probeInfo{}, fmt.Errorf("read ffprobe output: %w", err)
	}
	var info probeInfo
	if d, err := strconv.ParseFloat(pr.Format.Duration, 64); err == nil && d > 0 && !math.IsInf(d, 0) {
		info.duration = d
	}
	for _, s := range pr.Streams {
		if s.CodecType != "video" || s.Disposition.AttachedPic != 0 || s.Width <= 0 || s.Height <= 0 {
			continue
		}
		info.video = true
		info.dims = Dims{s.Width, s.Height}
		rot, _ := strconv.ParseFloat(s.Tags.Rotate, 64)
		for _, sd := range s.SideData {
			if sd.Rotation != 0 {
				rot = sd.Rotation
			}
		}
		if int(math.Abs(math.Round(rot)))%180 == 90 {
			info.dims = Dims{s.Height, s.Width}
		}
		break
	}
	return info, nil
}

// runTool runs name with args under a timeout and returns its standard
// output. A tool that fails is ErrCorrupt, with the first line of its
// message passed through hide (the message may reach the uploader: no server
// paths); a tool that times out or cannot start is an error of ours.
func runTool(ctx context.Context, timeout time.Duration, hide *strings.Replacer, name string, args ...string) ([]byte, error) {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, name, args...)
	stdout := &cappedBuffer{max: maxToolOutput, failOver: true}
	stderr := &cappedBuffer{max: maxToolStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	tool := name[strings.LastIndexByte(name, '/')+1:]
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", tool, ctx.Err())
	case tctx.Err() != nil:
		return nil, fmt.Errorf("%s took longer than %s", tool, timeout)
	case stdout.over:
		return nil, fmt.Errorf("%w: %s wrote more than %d bytes", ErrCorrupt, tool, maxToolOutput)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return nil, fmt.Errorf("run %s: %w", tool, err)
	}
	msg := strings.TrimSpace(hide.Replace(stderr.String()))
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if strings.HasPrefix(msg, "[") { // "[mov,mp4,... @ 0x55d0c8e2c1c0] moov atom not found"
		if i := strings.Index(msg, "] "); i > 0 {
			msg = msg[i+2:]
		}
	}
	return nil, fmt.Errorf("%w: %s: %s", ErrCorrupt, tool, msg)
}

// cappedBuffer keeps at most max bytes. Past that it either fails the write
// (failOver) or silently drops the rest.
type cappedBuffer struct {
	bytes.Buffer
	max      int
	failOver bool
	over     bool
}

func (c *cappedBuffer) Write(b []byte) (int, error) {
	room := c.max - c.Len()
	if len(b) <= room {
		return c.Buffer.Write(b)
	}
	c.over = true
	if c.failOver {
		return 0, errors.New("output too large")
	}
	c.Buffer.Write(b[:max(room, 0)])
	return len(b), nil
}
