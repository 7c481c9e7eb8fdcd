package results

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// NodeSchemaVersion is the version of a load node's attack.json.
const NodeSchemaVersion = 1

// NodeRun is what one load node (`camload attack`) or a merge of several
// (`camload report --merge`) measured: the scenario's load targets run
// against one base URL. Each endpoint's BinFile is relative to the folder
// holding attack.json.
type NodeRun struct {
	Schema   int       `json:"schema"`
	Scenario string    `json:"scenario"`
	BaseURL  string    `json:"base_url"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Nodes names the node folders a merge read; empty for one node.
	Nodes []string `json:"nodes,omitempty"`
	// Endpoints by load target name. For a merge, latency is vegeta's
	// (from each request's actual send time: the nodes paced themselves
	// independently, so there is no common intended send time) and
	// Throughput is successful requests over the merged span.
	Endpoints map[string]Endpoint `json:"endpoints"`
	// PerNode holds each node's own endpoints, for a merge.
	PerNode map[string]map[string]Endpoint `json:"per_node,omitempty"`
}

// WriteNode stores n as indented JSON at path, atomically.
func WriteNode(path string, n *NodeRun) error { return writeJSON(path, n) }

// ReadNode loads and checks a node's attack.json.
func ReadNode(path string) (*NodeRun, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var n NodeRun
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("results: %s: not valid attack JSON: %w", path, err)
	}
	if n.Schema != NodeSchemaVersion {
		return nil, fmt.Errorf("results: %s: node schema version %d, this build reads %d", path, n.Schema, NodeSchemaVersion)
	}
	return &n, nil
}
