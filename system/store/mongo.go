package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/camload/camload/internal/cfgerr"
)

// Collection names.
const (
	CamerasCollection      = "cameras"
	ObservationsCollection = "observations"
	LatestCollection       = "latest"
)

// Defaults of the Mongo options.
const (
	// DefaultChunkSize is the most statements one bulk command carries:
	// FerretDB 1.24 deadlocks an update command with ≥ 100 matched
	// statements (each holds a pooled backend connection until the command
	// ends), so bulk writes go in chunks well under that.
	DefaultChunkSize = 50
	// MaxChunkSize is the largest chunk size OpenMongo accepts.
	MaxChunkSize = 50
	// DefaultPageLimit is the page size when Page.Limit is 0.
	DefaultPageLimit = 100
	// MaxPageLimit is the largest page a caller may ask for.
	MaxPageLimit = 1000
	// DefaultMaxPoolSize is the driver's connection pool size, which
	// bounds the commands in flight. FerretDB 1.24 runs an update
	// statement with its query's rows still open while it writes, so each
	// update command holds two backend connections at a time, and
	// FerretDB's backend pool holds 50 (PostgreSQL) or 100 (SQLite):
	// more than 24 concurrent updates can deadlock FerretDB on
	// PostgreSQL. Real MongoDB has no such limit.
	DefaultMaxPoolSize = 24
	// DefaultConnectTimeout bounds connecting and server selection.
	DefaultConnectTimeout = 10 * time.Second
)

// ErrInvalid marks a request the store refuses whatever the database's
// state (an unknown projection field, a negative offset…): retrying it
// cannot help.
var ErrInvalid = errors.New("store: invalid request")

// MongoOption configures OpenMongo.
type MongoOption func(*mongoSettings)

type mongoSettings struct {
	chunk          int
	maxPool        uint64
	connectTimeout time.Duration
	skipIndexes    bool
}

// ChunkSize sets how many statements one bulk command carries (1…50).
func ChunkSize(n int) MongoOption { return func(s *mongoSettings) { s.chunk = n } }

// MaxPoolSize sets the driver's connection pool size (≥ 1).
func MaxPoolSize(n uint64) MongoOption { return func(s *mongoSettings) { s.maxPool = n } }

// ConnectTimeout bounds connecting and server selection (> 0).
func ConnectTimeout(d time.Duration) MongoOption {
	return func(s *mongoSettings) { s.connectTimeout = d }
}

// SkipIndexes leaves index creation to someone else (a second replica of
// the service, say).
func SkipIndexes() MongoOption { return func(s *mongoSettings) { s.skipIndexes = true } }

// Mongo is the Store on MongoDB (any server speaking its wire protocol,
// FerretDB included) through mongo-driver v1. It is safe for concurrent
// use.
type Mongo struct {
	client   *mongo.Client
	db       *mongo.Database
	cameras  *mongo.Collection
	obs      *mongo.Collection
	latest   *mongo.Collection
	chunk    int
	warnings []string
}

var _ Store = (*Mongo)(nil)

// OpenMongo connects to uri, uses database dbName and makes sure the
// indexes exist. Index kinds a server does not implement are tolerated and
// reported by Warnings. The caller must Close the store.
func OpenMongo(ctx context.Context, uri, dbName string, opts ...MongoOption) (*Mongo, error) {
	s := mongoSettings{chunk: DefaultChunkSize, maxPool: DefaultMaxPoolSize, connectTimeout: DefaultConnectTimeout}
	for _, o := range opts {
		o(&s)
	}
	switch {
	case uri == "":
		return nil, cfgerr.Field("mongo-uri", "must not be empty")
	case dbName == "":
		return nil, cfgerr.Field("mongo-db", "must not be empty")
	case s.chunk < 1 || s.chunk > MaxChunkSize:
		return nil, cfgerr.Field("chunk-size", "%d: must be 1…%d", s.chunk, MaxChunkSize)
	case s.maxPool < 1:
		return nil, cfgerr.Field("max-pool-size", "must be ≥ 1")
	case s.connectTimeout <= 0:
		return nil, cfgerr.Field("connect-timeout", "%s: must be > 0", s.connectTimeout)
	}
	co := options.Client().ApplyURI(uri).
		SetMaxPoolSize(s.maxPool).
		SetConnectTimeout(s.connectTimeout).
		SetServerSelectionTimeout(s.connectTimeout)
	if err := co.Validate(); err != nil {
		return nil, &cfgerr.Error{Field: "mongo-uri", Err: fmt.Errorf("%s: %w", redact(uri), err)}
	}
	client, err := mongo.Connect(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("store: connecting to %s: %w", redact(uri), err)
	}
	db := client.Database(dbName)
	m := &Mongo{
		client:  client,
		db:      db,
		cameras: db.Collection(CamerasCollection),
		obs:     db.Collection(ObservationsCollection),
		latest:  db.Collection(LatestCollection),
		chunk:   s.chunk,
	}
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("store: pinging %s: %w", redact(uri), err)
	}
	if !s.skipIndexes {
		if err := m.ensureIndexes(ctx); err != nil {
			_ = client.Disconnect(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return m, nil
}

// Warnings lists what the server did not support at start-up (index kinds
// FerretDB does not implement, for instance). Reports should show them.
func (m *Mongo) Warnings() []string { return append([]string(nil), m.warnings...) }

// Database is the database the store uses.
func (m *Mongo) Database() *mongo.Database { return m.db }

// Drop drops the store's database (tests and fresh benchmark runs).
func (m *Mongo) Drop(ctx context.Context) error {
	if err := m.db.Drop(ctx); err != nil {
		return fmt.Errorf("store: dropping database %s: %w", m.db.Name(), err)
	}
	return nil
}

func (m *Mongo) ensureIndexes(ctx context.Context) error {
	// Every collection exists from the start (createIndexes creates the
	// others), so a backend can be tuned before the first write (see
	// backends.IndexIDs).
	if err := m.db.CreateCollection(ctx, m.latest.Name()); err != nil && !isNamespaceExists(err) {
		return fmt.Errorf("store: creating collection %s: %w", m.latest.Name(), err)
	}
	sets := []struct {
		coll   *mongo.Collection
		models []mongo.IndexModel
	}{
		{m.cameras, []mongo.IndexModel{
			{Keys: bson.D{{Key: "status", Value: 1}}, Options: options.Index().SetName("status")},
			{Keys: bson.D{{Key: "district", Value: 1}}, Options: options.Index().SetName("district")},
			// Keyset pages under a filter: equality on the filter field,
			// then the cursor range and sort on _id.
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("status_id")},
			{Keys: bson.D{{Key: "district", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("district_id")},
		}},
		{m.obs, []mongo.IndexModel{
			{Keys: bson.D{{Key: "cameraId", Value: 1}, {Key: "processedAt", Value: 1}}, Options: options.Index().SetName("cameraId_processedAt")},
		}},
		// `latest` has only its _id index: it is written on every new
		// frame and read by _id or whole (Stats), so any other index
		// would cost every write and serve no read.
	}
	for _, set := range sets {
		for _, im := range set.models {
			// One index per command, so that one unsupported kind does
			// not cost the others.
			if _, err := set.coll.Indexes().CreateOne(ctx, im); err != nil {
				if ctx.Err() != nil || isNetwork(err) {
					return fmt.Errorf("store: creating index %s.%s: %w", set.coll.Name(), *im.Options.Name, err)
				}
				m.warnings = append(m.warnings, fmt.Sprintf("index %s.%s not created: %v", set.coll.Name(), *im.Options.Name, err))
			}
		}
	}
	return nil
}

// UpsertCameras replaces (or inserts) each camera by id, in unordered bulk
// commands of at most ChunkSize statements.
func (m *Mongo) UpsertCameras(ctx context.Context, cams []Camera) error {
	for start := 0; start < len(cams); start += m.chunk {
		end := min(start+m.chunk, len(cams))
		models := make([]mongo.WriteModel, 0, end-start)
		for _, c := range cams[start:end] {
			if c.ID == "" {
				return fmt.Errorf("store: camera %d: id: %w: empty", start, ErrInvalid)
			}
			set, err := setDoc(c)
			if err != nil {
				return fmt.Errorf("store: camera %q: %w", c.ID, err)
			}
			models = append(models, upsertModel(bson.D{{Key: "_id", Value: c.ID}}, set))
		}
		if _, err := m.cameras.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("store: upserting cameras %d…%d: %w", start, end-1, err)
		}
	}
	return nil
}

// cameraFields maps the API's field names (and the stored ones) to the
// stored names: the projection whitelist.
var cameraFields = map[string]string{
	"id": "_id", "_id": "_id",
	"name":        "name",
	"code":        "code",
	"district":    "district",
	"location":    "location",
	"cameraType":  "cameraType",
	"status":      "status",
	"snapshotUrl": "snapshotUrl",
	"lastUpdate":  "lastUpdate",
}

// CameraFields lists the field names a Page may project, sorted.
func CameraFields() []string {
	out := make([]string, 0, len(cameraFields))
	for k := range cameraFields {
		if k != "_id" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Cameras returns one page of cameras sorted by id. A page with After set
// is a keyset page (ids > After; total is -1); otherwise it is an offset
// page and total counts the cameras matching f, unless p.SkipCount.
func (m *Mongo) Cameras(ctx context.Context, f Filter, p Page) ([]Camera, int, error) {
	limit := p.Limit
	if limit == 0 {
		limit = DefaultPageLimit
	}
	switch {
	case limit < 0 || limit > MaxPageLimit:
		return nil, 0, fmt.Errorf("store: limit %d: %w: must be 1…%d", p.Limit, ErrInvalid, MaxPageLimit)
	case p.Offset < 0:
		return nil, 0, fmt.Errorf("store: offset %d: %w: must be ≥ 0", p.Offset, ErrInvalid)
	case p.After != "" && p.Offset != 0:
		return nil, 0, fmt.Errorf("store: offset %d with after: %w: a page is either offset or cursor", p.Offset, ErrInvalid)
	}
	filter := filterDoc(f)
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	if len(p.Fields) > 0 {
		proj := bson.D{}
		seen := map[string]bool{}
		for _, name := range p.Fields {
			stored, ok := cameraFields[name]
			if !ok {
				return nil, 0, fmt.Errorf("store: fields: %q: %w: not one of %v", name, ErrInvalid, CameraFields())
			}
			if !seen[stored] {
				seen[stored] = true
				proj = append(proj, bson.E{Key: stored, Value: 1})
			}
		}
		opts.SetProjection(proj)
	}
	query := filter
	if p.After != "" {
		query = append(append(bson.D{}, filter...), bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}})
	} else if p.Offset > 0 {
		opts.SetSkip(int64(p.Offset))
	}
	cur, err := m.cameras.Find(ctx, query, opts)
	if err != nil {
		return nil, 0, fmt.Errorf("store: finding cameras: %w", err)
	}
	cams := make([]Camera, 0, limit)
	if err := cur.All(ctx, &cams); err != nil {
		return nil, 0, fmt.Errorf("store: reading cameras: %w", err)
	}
	total := -1
	if p.After == "" && !p.SkipCount {
		n, err := m.cameras.CountDocuments(ctx, filter)
		if err != nil {
			return nil, 0, fmt.Errorf("store: counting cameras: %w", err)
		}
		total = int(n)
	}
	return cams, total, nil
}

// filterDoc builds the query from a Filter. Values are only ever used as
// string values of equality matches, never as documents, so no operator
// can be smuggled in.
func filterDoc(f Filter) bson.D {
	d := bson.D{}
	if f.Status != "" {
		d = append(d, bson.E{Key: "status", Value: f.Status})
	}
	if f.District != "" {
		d = append(d, bson.E{Key: "district", Value: f.District})
	}
	return d
}

// Camera returns one camera by id, or ErrNotFound.
func (m *Mongo) Camera(ctx context.Context, id string) (Camera, error) {
	var c Camera
	err := m.cameras.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Camera{}, fmt.Errorf("store: camera %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Camera{}, fmt.Errorf("store: camera %q: %w", id, err)
	}
	return c, nil
}

// ObservationID is an observation's _id: one frame of one camera is stored
// once, however often it is written (retries, re-fetched unchanged frames).
func ObservationID(o Observation) string { return o.CameraID + "/" + o.FrameHash }

// observationDoc is an Observation with its deterministic _id.
type observationDoc struct {
	ID          string `bson:"_id"`
	Observation `bson:",inline"`
}

// InsertObservation stores o (idempotently: a frame already stored is not
// stored again) and makes it the camera's latest state.
func (m *Mongo) InsertObservation(ctx context.Context, o Observation) error {
	if err := validObservation(o); err != nil {
		return err
	}
	_, err := m.obs.InsertOne(ctx, observationDoc{ID: ObservationID(o), Observation: o})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("store: inserting observation %s: %w", ObservationID(o), err)
	}
	set, err := setDoc(o)
	if err != nil {
		return fmt.Errorf("store: observation %s: %w", ObservationID(o), err)
	}
	// One statement: updateOne lets FerretDB stop reading at the match
	// (half the scan of a multi update on SQLite) and holds at most two
	// backend connections, like any single update (see upsertModel).
	update := bson.D{{Key: "$set", Value: set}}
	_, err = m.latest.UpdateOne(ctx, latestFilter(o), update, options.Update().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		// Two first upserts of one camera raced; the document exists now.
		_, err = m.latest.UpdateOne(ctx, latestFilter(o), update, options.Update().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("store: updating latest of camera %q: %w", o.CameraID, err)
	}
	return nil
}

// upsertModel updates the document filter matches by _id, or inserts it.
//
// It is an update with multi: true although filter matches at most one
// document by _id (as cheap as updateOne on MongoDB): FerretDB 1.24 keeps
// a backend connection for each statement whose query iterator is not read
// to the end, and a non-multi statement stops after one document. A bulk
// of N matched replaceOne/updateOne statements therefore holds N pooled
// connections until the command ends and deadlocks once N reaches the pool
// size (50 on PostgreSQL, 100 on SQLite); multi statements read their
// iterator to the end and give the connection back.
func upsertModel(filter, set bson.D) mongo.WriteModel {
	return mongo.NewUpdateManyModel().SetFilter(filter).
		SetUpdate(bson.D{{Key: "$set", Value: set}}).SetUpsert(true)
}

// setDoc is v as a document without its _id (immutable, and on upsert
// taken from the filter's equality).
func setDoc(v any) (bson.D, error) {
	raw, err := bson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	out := d[:0]
	for _, e := range d {
		if e.Key != "_id" {
			out = append(out, e)
		}
	}
	return out, nil
}

// latestFilter selects the camera's latest document by _id alone: FerretDB
// pushes a filter down to its backend only when it is a lone _id equality
// (anything more, e.g. a guard on processedAt, reads the whole collection
// at ~80 µs a document). The last write wins, so writers must write one
// camera's observations in order: the cycle visits a camera once, a bulk
// keeps only each camera's newest, and Buffered replays in arrival order.
func latestFilter(o Observation) bson.D {
	return bson.D{{Key: "_id", Value: o.CameraID}}
}

func validObservation(o Observation) error {
	if o.CameraID == "" {
		return fmt.Errorf("store: observation: cameraId: %w: empty", ErrInvalid)
	}
	if o.FrameHash == "" {
		return fmt.Errorf("store: observation of %q: frameHash: %w: empty", o.CameraID, ErrInvalid)
	}
	return nil
}

// InsertObservations stores many observations (unordered inserts in chunks
// of at most ChunkSize; frames already stored are skipped) and updates the
// latest state of each camera with its newest observation.
func (m *Mongo) InsertObservations(ctx context.Context, obs []Observation) error {
	if len(obs) == 0 {
		return nil
	}
	newest := make(map[string]int, len(obs)) // camera → index of its newest observation
	docs := make([]any, 0, len(obs))
	for i, o := range obs {
		if err := validObservation(o); err != nil {
			return fmt.Errorf("observation %d: %w", i, err)
		}
		docs = append(docs, observationDoc{ID: ObservationID(o), Observation: o})
		if j, ok := newest[o.CameraID]; !ok || o.ProcessedAt.After(obs[j].ProcessedAt) {
			newest[o.CameraID] = i
		}
	}
	for start := 0; start < len(docs); start += m.chunk {
		end := min(start+m.chunk, len(docs))
		_, err := m.obs.InsertMany(ctx, docs[start:end], options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return fmt.Errorf("store: inserting observations %d…%d: %w", start, end-1, err)
		}
	}
	latest := make([]int, 0, len(newest))
	for _, i := range newest {
		latest = append(latest, i)
	}
	sort.Ints(latest) // deterministic commands
	for start := 0; start < len(latest); start += m.chunk {
		end := min(start+m.chunk, len(latest))
		models := make([]mongo.WriteModel, 0, end-start)
		for _, i := range latest[start:end] {
			set, err := setDoc(obs[i])
			if err != nil {
				return fmt.Errorf("store: observation %s: %w", ObservationID(obs[i]), err)
			}
			models = append(models, upsertModel(latestFilter(obs[i]), set))
		}
		_, err := m.latest.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		if err != nil && onlyDuplicates(err) {
			// First upserts of a camera raced with another writer's.
			_, err = m.latest.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		}
		if err != nil {
			return fmt.Errorf("store: updating latest state (%d cameras): %w", end-start, err)
		}
	}
	return nil
}

// onlyDuplicates reports whether every error of a bulk write is a
// duplicate key (the document is already there).
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) {
		if bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
			return false
		}
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				return false
			}
		}
		return true
	}
	return mongo.IsDuplicateKeyError(err)
}

// Latest returns the latest observation of a camera, or ErrNotFound. It
// reads one document by _id: the hot path.
func (m *Mongo) Latest(ctx context.Context, cameraID string) (Observation, error) {
	var o Observation
	err := m.latest.FindOne(ctx, bson.D{{Key: "_id", Value: cameraID}}).Decode(&o)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Observation{}, fmt.Errorf("store: latest of camera %q: %w", cameraID, ErrNotFound)
	}
	if err != nil {
		return Observation{}, fmt.Errorf("store: latest of camera %q: %w", cameraID, err)
	}
	return o, nil
}

// Stats counts the cameras and the latest states by congestion and by
// district: one $group over the bounded `latest` collection (one document
// per camera) plus a count of `cameras`.
func (m *Mongo) Stats(ctx context.Context) (Stats, error) {
	n, err := m.cameras.EstimatedDocumentCount(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("store: counting cameras: %w", err)
	}
	st := Stats{Cameras: int(n), ByCongestion: map[string]int{}, ByDistrict: map[string]int{}}
	pipeline := mongo.Pipeline{
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "c", Value: "$congestion"}, {Key: "d", Value: "$district"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
	}
	cur, err := m.latest.Aggregate(ctx, pipeline)
	if err != nil {
		return Stats{}, fmt.Errorf("store: aggregating latest: %w", err)
	}
	var rows []struct {
		ID struct {
			C string `bson:"c"`
			D string `bson:"d"`
		} `bson:"_id"`
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return Stats{}, fmt.Errorf("store: reading latest aggregation: %w", err)
	}
	for _, r := range rows {
		st.Observed += r.N
		st.ByCongestion[r.ID.C] += r.N
		st.ByDistrict[r.ID.D] += r.N
	}
	return st, nil
}

// Ping checks the connection to the primary.
func (m *Mongo) Ping(ctx context.Context) error {
	if err := m.client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close disconnects, waiting (within ctx) for operations in progress.
func (m *Mongo) Close(ctx context.Context) error {
	if err := m.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("store: disconnecting: %w", err)
	}
	return nil
}

func isNetwork(err error) bool {
	return mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, mongo.ErrClientDisconnected)
}

// redact hides a URI's password in errors.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	return u.Redacted()
}

// isNamespaceExists reports whether err is MongoDB's NamespaceExists (48):
// the collection was already there.
func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 48
}
