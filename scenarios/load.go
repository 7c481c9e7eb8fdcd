package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	yaml "go.yaml.in/yaml/v3"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
)

// EnvPrefix starts every environment override: CAMLOAD_<SECTION>_<KEY>,
// upper-cased, dots as underscores (CAMLOAD_SYSTEM_CYCLES=3,
// CAMLOAD_FLEET_LATENCY_MEDIAN=50ms, CAMLOAD_FLEET_CAMERAS=100,1000).
const EnvPrefix = "CAMLOAD"

// Load reads, overrides from the environment and validates the scenario at
// path. Every error is a *cfgerr.Error (or several joined) naming path, the
// field and, where found, its line.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &cfgerr.Error{File: path, Err: err}
	}
	return Parse(path, b, os.LookupEnv)
}

// LookupEnv is the signature of os.LookupEnv; Parse takes one so tests can
// supply their own environment.
type LookupEnv func(key string) (string, bool)

// Parse is Load on bytes: name is the file name used in errors; env supplies
// the CAMLOAD_* overrides (nil = none).
func Parse(name string, data []byte, env LookupEnv) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &cfgerr.Error{File: name, Line: yamlErrLine(err), Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	lines := nodeLines{root: &root}

	// "::" as viper's key delimiter keeps dotted threshold names
	// (api.latest.p99) as single map keys.
	if root.Kind != 0 && !isMapping(&root) {
		return nil, &cfgerr.Error{File: name, Line: 1, Err: errors.New("a scenario is a YAML mapping (name: …, fleet: …)")}
	}
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, &cfgerr.Error{File: name, Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	fromEnv := map[string]string{} // key → env var, for error messages
	if env != nil {
		for _, k := range EnvKeys() {
			ev := EnvName(k)
			if val, ok := env(ev); ok {
				v.Set(strings.ReplaceAll(k, ".", "::"), val)
				fromEnv[k] = ev
			}
		}
	}
	settings := v.AllSettings()

	sc := Default.Clone()
	sc.File = name
	var errs []error
	errAt := func(field string, err error) {
		e := &cfgerr.Error{File: name, Field: field, Err: err}
		if ev, ok := fromEnv[topKey(field)]; ok {
			e.Err = fmt.Errorf("%w (from %s)", err, ev)
		} else {
			e.Line = lines.line(field)
		}
		errs = append(errs, e)
	}

	// fleet.cameras is a list (the matrix axis) while simulator.Config
	// has one count: decode it apart, then the rest of the section.
	if fleet, ok := settings["fleet"].(map[string]any); ok {
		if cams, ok := fleet["cameras"]; ok {
			delete(fleet, "cameras")
			if str, ok := cams.(string); ok { // from the environment: "100,1000"
				cams = strings.Split(str, ",")
			}
			var list []int
			if err := decode(cams, &list); err != nil {
				for _, de := range decodeErrors(err, "fleet.cameras") {
					errAt(de.field, de.err)
				}
			} else {
				sc.Fleet.Cameras = list
			}
		}
		if cph, ok := fleet["cameras_per_host"]; ok {
			delete(fleet, "cameras_per_host")
			var n int
			if err := decode(cph, &n); err != nil {
				for _, de := range decodeErrors(err, "fleet.cameras_per_host") {
					errAt(de.field, de.err)
				}
			} else if n < 0 {
				errAt("fleet.cameras_per_host", fmt.Errorf("%d: must be ≥ 0", n))
			} else {
				sc.Fleet.CamerasPerHost = n
			}
		}
		for _, k := range []string{"seed", "listen"} {
			if _, ok := fleet[k]; ok {
				delete(fleet, k)
				errAt("fleet."+k, fmt.Errorf("set by the runner (use the top-level seed)"))
			}
		}
	}
	// system.replicas from the environment: "1,2,3", as fleet.cameras.
	if sys, ok := settings["system"].(map[string]any); ok {
		if str, ok := sys["replicas"].(string); ok {
			sys["replicas"] = strings.Split(str, ",")
		}
	}
	// A load target starts from DefaultTarget, its capacity search from
	// DefaultCapacity: decode each list entry over a copy of them.
	var loads []any
	if l, ok := settings["load"]; ok {
		delete(settings, "load")
		switch l := l.(type) {
		case []any:
			loads = l
		case nil:
		default:
			errAt("load", fmt.Errorf("must be a list of targets, got %T", l))
		}
	}
	if err := decode(settings, sc); err != nil {
		for _, de := range decodeErrors(err, "") {
			errAt(de.field, de.err)
		}
	}
	sc.Load = nil
	for i, raw := range loads {
		t := DefaultTarget
		field := fmt.Sprintf("load[%d]", i)
		if m, ok := raw.(map[string]any); ok {
			if c, ok := m["capacity"]; ok && c != nil {
				cp := DefaultCapacity
				t.Capacity = &cp
			}
		}
		if err := decode(raw, &t); err != nil {
			for _, de := range decodeErrors(err, field) {
				errAt(de.field, de.err)
			}
			continue
		}
		sc.Load = append(sc.Load, t)
	}
	if len(errs) > 0 {
		return nil, cfgerr.Join(errs...)
	}
	for _, fe := range sc.check() {
		errAt(fe.Field, fe.Err)
	}
	if len(errs) > 0 {
		return nil, cfgerr.Join(errs...)
	}
	return sc, nil
}

// Validate checks s as Load does, for scenarios built in code or changed
// after loading (CLI overrides). Errors are *cfgerr.Error naming s.File and
// the field.
func (s *Scenario) Validate() error {
	var errs []error
	for _, fe := range s.check() {
		fe.File = s.File
		errs = append(errs, fe)
	}
	return cfgerr.Join(errs...)
}

func isMapping(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0].Kind == yaml.MappingNode
	}
	return n.Kind == yaml.MappingNode
}

// decode is mapstructure with the same hooks as viper (durations and
// comma-separated lists from strings, weakly typed so env strings convert),
// refusing unknown keys.
func decode(in, out any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		Result:           out,
	})
	if err != nil {
		return err
	}
	return d.Decode(in)
}

type fieldErr struct {
	field string
	err   error
}

// decodeErrors flattens a mapstructure error into one error per field;
// prefix names the value decoded ("" = the whole scenario).
func decodeErrors(err error, prefix string) []fieldErr {
	var out []fieldErr
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			out = append(out, fieldErr{prefix, e})
			return
		}
		name := joinField(prefix, de.Name())
		inner := de.Unwrap()
		// Nested DecodeErrors carry the full name; keep the innermost.
		var deeper *mapstructure.DecodeError
		if errors.As(inner, &deeper) {
			walk(inner)
			return
		}
		if msg := inner.Error(); strings.HasPrefix(msg, "has invalid keys: ") {
			for _, k := range strings.Split(strings.TrimPrefix(msg, "has invalid keys: "), ", ") {
				out = append(out, fieldErr{joinField(name, k), errors.New("unknown key")})
			}
			return
		}
		out = append(out, fieldErr{name, friendly(inner)})
	}
	walk(err)
	return out
}

// friendly rewrites mapstructure's type errors in the scenario's terms.
func friendly(err error) error {
	var ut *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ut) {
		return fmt.Errorf("must be %s, got %v", typeWord(ut.Expected.Type()), ut.Value)
	}
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("must be %s, got %v", typeWord(pe.Expected.Type()), pe.Value)
	}
	msg := err.Error()
	if strings.Contains(msg, "time: ") {
		return fmt.Errorf("must be a duration like 250ms or 2s: %w", err)
	}
	return err
}

func typeWord(t reflect.Type) string {
	if t == reflect.TypeOf(time.Duration(0)) {
		return "a duration like 250ms or 2s"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func joinField(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	case strings.HasPrefix(name, "["):
		return prefix + name
	}
	return prefix + "." + name
}

// topKey strips list indices: "fleet.cameras[1]" → "fleet.cameras".
func topKey(field string) string {
	if i := strings.IndexByte(field, '['); i >= 0 {
		return field[:i]
	}
	return field
}

// EnvKeys lists every scenario key that an environment variable can
// override, in dotted form (system.cycles, fleet.latency.median,
// system.knobs.workers). Lists (load), maps (thresholds, compare) and
// rules (expect, expect_over_budget) cannot be set from the environment.
func EnvKeys() []string {
	var keys []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("mapstructure"), ",")
			name := tag[0]
			if name == "-" {
				continue
			}
			if len(tag) > 1 && tag[1] == "squash" {
				walk(prefix, f.Type)
				continue
			}
			key := joinField(prefix, name)
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)):
				walk(key, f.Type)
			case f.Type.Kind() == reflect.Map || (f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct):
			default:
				// Rules contain commas, which a comma-separated list
				// would split; compare is a mapping.
				if key == "fleet.listen" || key == "fleet.seed" || key == "expect" || key == "expect_over_budget" || key == "compare" {
					continue
				}
				keys = append(keys, key)
			}
		}
	}
	walk("", reflect.TypeOf(Scenario{}))
	keys = append(keys, "fleet.cameras", "fleet.cameras_per_host")
	for _, k := range KnobKeys() {
		keys = append(keys, "system.knobs."+k)
	}
	sort.Strings(keys)
	// fleet.cameras from simulator.Config's int field is replaced by the
	// list; drop duplicates.
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || keys[i-1] != k {
			out = append(out, k)
		}
	}
	return out
}

// EnvName is the environment variable overriding key:
// "system.cycles" → "CAMLOAD_SYSTEM_CYCLES".
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// KnobKeys lists the keys of system.knobs (system.Knobs's mapstructure
// tags).
func KnobKeys() []string {
	t := reflect.TypeOf(system.Knobs{})
	keys := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if n := strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0]; n != "" && n != "-" {
			keys = append(keys, n)
		}
	}
	return keys
}

// nodeLines finds the line of a dotted field in the parsed YAML.
type nodeLines struct{ root *yaml.Node }

// line returns the 1-based line of field ("fleet.cameras[1]",
// "load[0].capacity.slo.p99"), or of its closest present parent, or 0.
func (n nodeLines) line(field string) int {
	cur := n.root
	if cur == nil {
		return 0
	}
	if cur.Kind == yaml.DocumentNode && len(cur.Content) == 1 {
		cur = cur.Content[0]
	}
	best := 0
	for _, seg := range splitField(field) {
		switch {
		case seg.index >= 0:
			if cur.Kind != yaml.SequenceNode || seg.index >= len(cur.Content) {
				return best
			}
			cur = cur.Content[seg.index]
			best = cur.Line
		default:
			if cur.Kind != yaml.MappingNode {
				return best
			}
			found := false
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if strings.EqualFold(cur.Content[i].Value, seg.key) {
					best = cur.Content[i].Line
					cur = cur.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return best
			}
		}
	}
	return best
}

type segment struct {
	key   string
	index int // ≥ 0 for [i]
}

func splitField(field string) []segment {
	var segs []segment
	for _, part := range strings.Split(field, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				segs = append(segs, segment{key: part, index: -1})
				break
			}
			if i > 0 {
				segs = append(segs, segment{key: part[:i], index: -1})
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				break
			}
			idx, err := strconv.Atoi(part[i+1 : i+j])
			if err != nil {
				break
			}
			segs = append(segs, segment{index: idx})
			part = part[i+j+1:]
		}
	}
	return segs
}

// yamlErrLine extracts "line N" from a yaml.v3 error, or 0.
func yamlErrLine(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	j := i + len("line ")
	k := j
	for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
		k++
	}
	n, _ := strconv.Atoi(msg[j:k])
	return n
}
