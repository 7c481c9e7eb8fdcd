// Package store keeps the system's data in MongoDB (any mongodb:// URI,
// FerretDB included) through mongo-driver v1: the camera registry, the
// append-only observations and the latest state per camera.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a camera id is unknown.
var ErrNotFound = errors.New("store: not found")

// Location is a camera's position.
type Location struct {
	Lat float64 `bson:"lat" json:"lat"`
	Lng float64 `bson:"lng" json:"lng"`
}

// Camera is a camera document of the `cameras` collection (the fleet's
// inventory plus what the system learned).
type Camera struct {
	ID          string    `bson:"_id" json:"id"`
	Name        string    `bson:"name" json:"name"`
	Code        string    `bson:"code" json:"code"`
	District    string    `bson:"district" json:"district"`
	Location    Location  `bson:"location" json:"location"`
	CameraType  string    `bson:"cameraType" json:"cameraType"`
	Status      string    `bson:"status" json:"status"`
	SnapshotURL string    `bson:"snapshotUrl" json:"snapshotUrl"`
	LastUpdate  time.Time `bson:"lastUpdate,omitempty" json:"lastUpdate,omitempty"`
}

// Observation is one analyzed frame, stored append-only.
type Observation struct {
	CameraID     string    `bson:"cameraId" json:"cameraId"`
	Cycle        int64     `bson:"cycle" json:"cycle"`
	FrameHash    string    `bson:"frameHash" json:"frameHash"`
	CapturedAt   time.Time `bson:"capturedAt" json:"capturedAt"`
	ProcessedAt  time.Time `bson:"processedAt" json:"processedAt"`
	VehicleCount int       `bson:"vehicleCount" json:"vehicleCount"`
	Intensity    float64   `bson:"intensity" json:"intensity"`
	Congestion   string    `bson:"congestion" json:"congestion"` // free, moderate, congested
	District     string    `bson:"district" json:"district"`
}

// Filter selects cameras; values are whitelisted by the API before they get
// here, and the store builds its own query documents from them.
type Filter struct {
	Status   string // "" = any
	District string // "" = any
}

// Page asks for one page of cameras: either Offset (page*limit) or After
// (keyset cursor on _id, exclusive); Fields is the projection ("" = all).
type Page struct {
	Offset int
	After  string
	Limit  int
	Fields []string
	// SkipCount leaves total uncounted (-1) on an offset page: counting
	// reads every matching document on FerretDB.
	SkipCount bool
}

// Stats are counts of the latest state by congestion and by district.
type Stats struct {
	Cameras      int            `json:"cameras"`
	Observed     int            `json:"observed"`
	ByCongestion map[string]int `json:"byCongestion"`
	ByDistrict   map[string]int `json:"byDistrict"`
}

// Store is the system's persistence. Implementations are safe for
// concurrent use.
type Store interface {
	// UpsertCameras writes the registry (bulk, chunked ≤ 50).
	UpsertCameras(ctx context.Context, cams []Camera) error
	// Cameras returns one page of cameras and, for offset pages, the
	// total matching Filter (-1 when not counted).
	Cameras(ctx context.Context, f Filter, p Page) (cams []Camera, total int, err error)
	// Camera returns one camera or ErrNotFound.
	Camera(ctx context.Context, id string) (Camera, error)
	// InsertObservation stores one observation and the latest state.
	InsertObservation(ctx context.Context, o Observation) error
	// InsertObservations stores many (bulk, chunked ≤ 50) and the latest
	// state of each camera.
	InsertObservations(ctx context.Context, obs []Observation) error
	// Latest returns the latest observation of a camera, or ErrNotFound.
	Latest(ctx context.Context, cameraID string) (Observation, error)
	// Stats counts the latest state.
	Stats(ctx context.Context) (Stats, error)
	// Ping checks the connection.
	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}
