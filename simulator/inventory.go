package simulator

import (
	"fmt"
	"math"
	"strconv"
)

// Camera is one camera of the inventory, as GET /cameras lists it.
type Camera struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Code        string   `json:"code"`
	District    string   `json:"district"`
	Location    Location `json:"location"`
	CameraType  string   `json:"cameraType"`
	Status      string   `json:"status"`
	SnapshotURL string   `json:"snapshotUrl"`
}

// Location is a WGS84 position.
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Camera types and statuses.
const (
	TypePTZ    = "PTZ"
	TypeStatic = "Static"
	TypeDome   = "Dome"

	StatusOnline  = "online"
	StatusOffline = "offline"
)

// district is an administrative district of Ho Chi Minh City with its
// approximate centre and a short code.
type district struct {
	name, code string
	lat, lng   float64
}

var districts = []district{
	{"Quận 1", "Q1", 10.7756, 106.7019},
	{"Quận 3", "Q3", 10.7843, 106.6844},
	{"Quận 4", "Q4", 10.7579, 106.7013},
	{"Quận 5", "Q5", 10.7540, 106.6634},
	{"Quận 6", "Q6", 10.7480, 106.6352},
	{"Quận 7", "Q7", 10.7340, 106.7218},
	{"Quận 8", "Q8", 10.7241, 106.6286},
	{"Quận 10", "Q10", 10.7679, 106.6668},
	{"Quận 11", "Q11", 10.7629, 106.6501},
	{"Quận 12", "Q12", 10.8671, 106.6413},
	{"Bình Thạnh", "BTH", 10.8106, 106.7091},
	{"Gò Vấp", "GV", 10.8387, 106.6653},
	{"Phú Nhuận", "PN", 10.7992, 106.6803},
	{"Tân Bình", "TB", 10.8015, 106.6526},
	{"Tân Phú", "TP", 10.7901, 106.6281},
	{"Bình Tân", "BT", 10.7653, 106.6037},
	{"Thủ Đức", "TD", 10.8494, 106.7537},
	{"Bình Chánh", "BC", 10.6874, 106.5939},
	{"Hóc Môn", "HM", 10.8839, 106.5923},
	{"Nhà Bè", "NB", 10.6952, 106.7045},
}

var streets = []string{
	"Nguyễn Huệ", "Lê Lợi", "Đồng Khởi", "Hai Bà Trưng", "Pasteur", "Nam Kỳ Khởi Nghĩa",
	"Điện Biên Phủ", "Võ Văn Tần", "Cách Mạng Tháng Tám", "Nguyễn Thị Minh Khai",
	"Trần Hưng Đạo", "Nguyễn Văn Cừ", "Lý Thường Kiệt", "Ba Tháng Hai", "Nguyễn Tri Phương",
	"Hùng Vương", "An Dương Vương", "Kinh Dương Vương", "Hậu Giang", "Nguyễn Văn Linh",
	"Huỳnh Tấn Phát", "Nguyễn Hữu Thọ", "Xô Viết Nghệ Tĩnh", "Phan Đăng Lưu", "Bạch Đằng",
	"Nguyễn Oanh", "Quang Trung", "Phạm Văn Đồng", "Hoàng Văn Thụ", "Cộng Hòa",
	"Trường Chinh", "Âu Cơ", "Lũy Bán Bích", "Tân Kỳ Tân Quý", "Võ Văn Ngân",
	"Xa Lộ Hà Nội", "Kha Vạn Cân", "Quốc lộ 1A", "Quốc lộ 22", "Nguyễn Văn Tạo",
	"Tôn Đức Thắng", "Võ Văn Kiệt", "Mai Chí Thọ", "Nguyễn Kiệm", "Lê Văn Sỹ",
}

var cameraTypes = []string{TypeStatic, TypeStatic, TypeDome, TypePTZ} // static cameras are the most common

// cameraInfo is a camera's immutable data.
type cameraInfo struct {
	Camera
	host   int
	phase  int64 // ns added to time before dividing by Refresh
	offPh  int64 // ns added to time before dividing by OfflinePeriod
	base   uint64
	step   uint64
	factor float64 // latency scale
}

// CameraID returns the id of the camera with index i (0-based).
func CameraID(i int) string { return fmt.Sprintf("cam-%05d", i+1) }

// parseCameraID returns the 0-based index of id, or -1.
func parseCameraID(id string) int {
	if len(id) != 9 || id[:4] != "cam-" {
		return -1
	}
	n := 0
	for i := 4; i < 9; i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n - 1
}

// buildInventory makes cfg.Cameras cameras, deterministic in cfg.Seed.
func buildInventory(cfg Config, nFrames int, sampler *Sampler) []cameraInfo {
	seed := uint64(cfg.Seed)
	cams := make([]cameraInfo, cfg.Cameras)
	perDistrict := map[string]int{}
	for i := range cams {
		h := func(k uint64) uint64 { return hash4(seed, saltInventory, uint64(i), k) }
		d := districts[h(0)%uint64(len(districts))]
		s1 := streets[h(1)%uint64(len(streets))]
		s2 := streets[h(2)%uint64(len(streets))]
		if s2 == s1 {
			s2 = streets[(h(2)+1)%uint64(len(streets))]
		}
		perDistrict[d.code]++
		// Positions scatter ~2.5 km around the district centre.
		ang, rad := 2*math.Pi*unit(h(3)), 0.022*math.Sqrt(unit(h(4)))
		c := cameraInfo{
			Camera: Camera{
				ID:         CameraID(i),
				Name:       s1 + " - " + s2,
				Code:       "HCM-" + d.code + "-" + strconv.Itoa(perDistrict[d.code]),
				District:   d.name,
				Location:   Location{Lat: round6(d.lat + rad*math.Sin(ang)), Lng: round6(d.lng + rad*math.Cos(ang))},
				CameraType: cameraTypes[h(5)%uint64(len(cameraTypes))],
				Status:     StatusOnline,
			},
			host:   i % cfg.Hosts,
			phase:  int64(hash4(seed, saltPhase, uint64(i), 0) % uint64(cfg.Refresh)),
			base:   hash4(seed, saltFrame, uint64(i), 0) % uint64(nFrames),
			step:   1,
			factor: sampler.Factor(i),
		}
		if cfg.Faults.OfflinePeriod > 0 {
			c.offPh = int64(hash4(seed, saltPhase, uint64(i), 1) % uint64(cfg.Faults.OfflinePeriod))
		}
		if nFrames > 1 {
			c.step = 1 + hash4(seed, saltFrame, uint64(i), 1)%uint64(nFrames-1)
		}
		cams[i] = c
	}
	return cams
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
