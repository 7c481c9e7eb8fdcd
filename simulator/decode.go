package simulator

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"

	"github.com/camload/camload/internal/cfgerr"
)

// DecodeConfig fills base from a `fleet:` section already parsed into maps
// (YAML, JSON, viper): keys are the mapstructure tags of Config, durations
// are strings like "200ms", unknown keys are errors. The result is not
// validated; call Validate. Errors are *cfgerr.Error naming the field.
func DecodeConfig(section map[string]any, base Config) (Config, error) {
	out := base
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           &out,
		Metadata:         &md,
		ErrorUnused:      true,
		WeaklyTypedInput: false,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			durationHook,
			mapstructure.StringToTimeDurationHookFunc(),
		),
	})
	if err != nil {
		return base, fmt.Errorf("simulator: decoder: %w", err)
	}
	norm, err := normalize(section, "fleet")
	if err != nil {
		return base, err
	}
	if err := dec.Decode(norm); err != nil {
		return base, decodeError(err)
	}
	return out, nil
}

// normalize turns nested maps into map[string]any (YAML gives
// map[any]any for mappings with non-string keys, which mapstructure cannot
// take) and rejects keys that are not strings.
func normalize(v any, path string) (any, error) {
	switch m := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			n, err := normalize(x, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, cfgerr.Field(path, "key %v is not a string", k)
			}
			n, err := normalize(x, path+"."+ks)
			if err != nil {
				return nil, err
			}
			out[ks] = n
		}
		return out, nil
	}
	return v, nil
}

// durationHook accepts integer nanoseconds only for 0 (so `handshake: 0`
// works) and rejects other bare numbers, which are almost always a
// forgotten unit.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	switch v := data.(type) {
	case int:
		if v == 0 {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("duration %d has no unit (write e.g. \"%dms\")", v, v)
	case float64:
		if v == 0 {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("duration %g has no unit (write e.g. \"%gms\")", v, v)
	}
	return data, nil
}

// decodeError turns mapstructure's errors into *cfgerr.Error values naming
// the field with the "fleet." prefix.
func decodeError(err error) error {
	var errs []error
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if line == "" || strings.HasPrefix(line, "decoding failed") || strings.HasSuffix(line, "error(s) decoding:") {
			continue
		}
		field, msg := "fleet", line
		if rest, ok := strings.CutPrefix(line, "'"); ok {
			if name, m, ok := strings.Cut(rest, "'"); ok {
				field, msg = "fleet."+name, strings.TrimSpace(m)
			}
		}
		if strings.Contains(line, "has invalid keys:") {
			_, keys, _ := strings.Cut(line, "has invalid keys:")
			for _, k := range strings.Split(keys, ",") {
				k = strings.TrimSpace(k)
				prefix := "fleet."
				if field != "fleet" && !strings.HasPrefix(line, "''") {
					prefix = field + "."
				}
				errs = append(errs, cfgerr.Field(prefix+k, "unknown key"))
			}
			continue
		}
		errs = append(errs, cfgerr.Field(field, "%s", msg))
	}
	if len(errs) == 0 {
		return cfgerr.Field("fleet", "%v", err)
	}
	return cfgerr.Join(errs...)
}

// LoadConfigFile reads the `fleet:` section of a scenario YAML file on top
// of base. A file without a `fleet:` section gives base unchanged. Errors
// name the file and field (and the line, when known).
func LoadConfigFile(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, cfgerr.Usage("reading scenario: %v", err)
	}
	return ParseConfigYAML(data, path, base)
}

// ParseConfigYAML is LoadConfigFile on the bytes of a scenario; path only
// names the input in errors. A scenario's `fleet.cameras` may be a list of
// fleet sizes (one matrix column each): the fleet serves the first. The
// scenario's top-level `seed` is the fleet's seed unless `fleet.seed` is
// given, so the fleet is the one `camload run` builds from the file.
func ParseConfigYAML(data []byte, path string, base Config) (Config, error) {
	var doc struct {
		Seed  *int64    `yaml:"seed"`
		Fleet yaml.Node `yaml:"fleet"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return base, &cfgerr.Error{File: path, Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	if doc.Seed != nil {
		base.Seed = *doc.Seed
	}
	if doc.Fleet.Kind == 0 {
		return base, nil
	}
	var section map[string]any
	if err := doc.Fleet.Decode(&section); err != nil {
		return base, &cfgerr.Error{File: path, Field: "fleet", Line: doc.Fleet.Line, Err: err}
	}
	if list, ok := section["cameras"].([]any); ok {
		if len(list) == 0 {
			return base, &cfgerr.Error{File: path, Field: "fleet.cameras", Line: lineOf(&doc.Fleet, "cameras"), Err: errors.New("empty list: give at least one fleet size")}
		}
		section["cameras"] = list[0]
	}
	// A scenario's fleet.cameras_per_host sizes the hosts from the cameras
	// served (the runner does the same per cell).
	perHost := 0
	if v, ok := section["cameras_per_host"]; ok {
		delete(section, "cameras_per_host")
		n, ok := v.(int)
		if !ok || n < 0 {
			return base, &cfgerr.Error{File: path, Field: "fleet.cameras_per_host", Line: lineOf(&doc.Fleet, "cameras_per_host"), Err: fmt.Errorf("%v: must be a whole number ≥ 0", v)}
		}
		perHost = n
	}
	cfg, err := DecodeConfig(section, base)
	if err != nil {
		return base, withFile(err, path, &doc.Fleet)
	}
	if perHost > 0 {
		cfg.Hosts = (cfg.Cameras + perHost - 1) / perHost
	}
	return cfg, nil
}

// withFile adds path and, when the field's key is found in node, its line
// to every *cfgerr.Error joined in err.
func withFile(err error, path string, node *yaml.Node) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		var ce *cfgerr.Error
		if errors.As(e, &ce) {
			c := *ce
			c.File = path
			c.Line = lineOf(node, strings.TrimPrefix(c.Field, "fleet."))
			out = append(out, &c)
			continue
		}
		out = append(out, &cfgerr.Error{File: path, Err: e})
	}
	return cfgerr.Join(out...)
}

// lineOf finds the line of a dotted key path under a YAML mapping node.
func lineOf(node *yaml.Node, path string) int {
	line := node.Line
	for _, key := range strings.Split(path, ".") {
		if node.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				line, node, found = node.Content[i].Line, node.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}
