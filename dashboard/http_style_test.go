package dashboard

import (
	"bytes"
	"strings"
	"testing"

	"github.com/camload/camload/internal/webstyle"
)

// TestPageSharesReportStyle: the served page carries the report's common
// style sheet in place of its marker, once, inside its <style> element.
func TestPageSharesReportStyle(t *testing.T) {
	if n := bytes.Count(pageSource, []byte(webstyle.Marker)); n != 1 {
		t.Fatalf("page.html holds the marker %d times; want 1", n)
	}
	page := string(pageHTML)
	if strings.Contains(page, webstyle.Marker) {
		t.Errorf("served page still holds the marker %q", webstyle.Marker)
	}
	style, _, _ := strings.Cut(page[strings.Index(page, "<style>"):], "</style>")
	if !strings.Contains(style, webstyle.Base) {
		t.Errorf("the page's <style> lacks webstyle.Base")
	}
}
