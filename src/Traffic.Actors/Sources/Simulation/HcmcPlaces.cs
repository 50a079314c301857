namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The static geography of the simulated Ho Chi Minh City: real streets, intersections and districts with approximate
/// (plausible, not surveyed) WGS84 coordinates, all within lat 10.70-10.88, lon 106.60-106.80. Immutable data only.
/// District names are the familiar pre-2025 ones (Thu Duc covers the former Districts 2, 9 and Thu Duc).
/// </summary>
internal static class HcmcPlaces
{
    public static readonly IReadOnlyList<CameraSite> Cameras = Number(
    [
        ("Nguyen Hue", "Nguyen Hue", "District 1", 10.7745, 106.7035),
        ("Le Loi x Nam Ky Khoi Nghia", "Le Loi", "District 1", 10.7736, 106.6997),
        ("Ben Thanh Roundabout", "Le Loi", "District 1", 10.7721, 106.6983),
        ("Dien Bien Phu x Nguyen Binh Khiem", "Dien Bien Phu", "District 1", 10.7903, 106.7042),
        ("Ton Duc Thang x Nguyen Huu Canh", "Ton Duc Thang", "District 1", 10.7832, 106.7068),
        ("Ham Nghi x Ton Duc Thang", "Ham Nghi", "District 1", 10.7712, 106.7058),
        ("Hai Ba Trung x Dien Bien Phu", "Hai Ba Trung", "District 1", 10.7898, 106.6935),
        ("Nam Ky Khoi Nghia x Nguyen Thi Minh Khai", "Nam Ky Khoi Nghia", "District 1", 10.7788, 106.6938),
        ("Phu Dong Six-way Intersection", "Nguyen Trai", "District 1", 10.7668, 106.6876),
        ("Tran Hung Dao x Nguyen Van Cu", "Tran Hung Dao", "District 5", 10.7597, 106.6858),
        ("Vo Van Kiet x Calmette", "Vo Van Kiet", "District 1", 10.7672, 106.6996),
        ("Thu Thiem Tunnel West Portal", "Vo Van Kiet", "District 1", 10.7666, 106.7064),
        ("Vo Van Kiet x Nguyen Tri Phuong", "Vo Van Kiet", "District 5", 10.7520, 106.6690),
        ("Vo Van Kiet x Ho Hoc Lam", "Vo Van Kiet", "Binh Tan", 10.7385, 106.6200),
        ("Cach Mang Thang Tam x Nguyen Dinh Chieu", "Cach Mang Thang Tam", "District 3", 10.7792, 106.6852),
        ("Cach Mang Thang Tam x Nguyen Thi Minh Khai", "Cach Mang Thang Tam", "District 3", 10.7745, 106.6895),
        ("Bay Hien Intersection", "Cach Mang Thang Tam", "Tan Binh", 10.7929, 106.6531),
        ("Dan Chu Roundabout", "Ba Thang Hai", "District 3", 10.7775, 106.6805),
        ("Vo Thi Sau x Pasteur", "Vo Thi Sau", "District 3", 10.7868, 106.6915),
        ("Nam Ky Khoi Nghia x Tran Quoc Toan", "Nam Ky Khoi Nghia", "District 3", 10.7880, 106.6875),
        ("Le Van Sy x Huynh Van Banh", "Le Van Sy", "Phu Nhuan", 10.7935, 106.6768),
        ("Phu Nhuan Intersection", "Phan Dang Luu", "Phu Nhuan", 10.7990, 106.6802),
        ("Phan Dang Luu x Dinh Tien Hoang", "Phan Dang Luu", "Binh Thanh", 10.8025, 106.6955),
        ("Nguyen Van Troi x Cong Ly Bridge", "Nguyen Van Troi", "Phu Nhuan", 10.7925, 106.6835),
        ("Nguyen Kiem x Nguyen Thai Son", "Nguyen Kiem", "Go Vap", 10.8175, 106.6790),
        ("Lang Cha Ca Roundabout", "Cong Hoa", "Tan Binh", 10.8005, 106.6605),
        ("Cong Hoa x Etown", "Cong Hoa", "Tan Binh", 10.8012, 106.6420),
        ("Cong Hoa x Truong Chinh", "Cong Hoa", "Tan Binh", 10.8042, 106.6348),
        ("Truong Chinh x Au Co", "Truong Chinh", "Tan Binh", 10.7978, 106.6453),
        ("Truong Chinh x Phan Huy Ich", "Truong Chinh", "Tan Binh", 10.8190, 106.6325),
        ("Truong Son x Tan Son Nhat Airport", "Truong Son", "Tan Binh", 10.8122, 106.6655),
        ("Hoang Van Thu Park", "Hoang Van Thu", "Tan Binh", 10.7997, 106.6695),
        ("Ly Thuong Kiet x To Hien Thanh", "Ly Thuong Kiet", "District 10", 10.7768, 106.6585),
        ("Ba Thang Hai x Ly Thuong Kiet", "Ba Thang Hai", "District 11", 10.7662, 106.6582),
        ("Ba Thang Hai x Le Hong Phong", "Ba Thang Hai", "District 10", 10.7695, 106.6775),
        ("Nguyen Trai x Tran Phu", "Nguyen Trai", "District 5", 10.7575, 106.6790),
        ("Hong Bang x Chau Van Liem", "Hong Bang", "District 5", 10.7532, 106.6583),
        ("Hang Xanh Roundabout", "Dien Bien Phu", "Binh Thanh", 10.8015, 106.7110),
        ("Xo Viet Nghe Tinh x No Trang Long", "Xo Viet Nghe Tinh", "Binh Thanh", 10.8072, 106.7088),
        ("Dien Bien Phu x D2", "Dien Bien Phu", "Binh Thanh", 10.8003, 106.7165),
        ("Nguyen Huu Canh x Landmark 81", "Nguyen Huu Canh", "Binh Thanh", 10.7948, 106.7215),
        ("Mien Dong Bus Station", "Dinh Bo Linh", "Binh Thanh", 10.8153, 106.7108),
        ("Saigon Bridge", "Xa Lo Ha Noi", "Binh Thanh", 10.7985, 106.7245),
        ("Xa Lo Ha Noi x Thao Dien", "Xa Lo Ha Noi", "Thu Duc", 10.8028, 106.7395),
        ("An Phu Intersection", "Mai Chi Tho", "Thu Duc", 10.8008, 106.7472),
        ("Xa Lo Ha Noi x Rach Chiec", "Xa Lo Ha Noi", "Thu Duc", 10.8148, 106.7598),
        ("Thu Duc Interchange", "Xa Lo Ha Noi", "Thu Duc", 10.8495, 106.7718),
        ("Pham Van Dong x Kha Van Can", "Pham Van Dong", "Thu Duc", 10.8285, 106.7255),
        ("Vo Van Ngan x Kha Van Can", "Vo Van Ngan", "Thu Duc", 10.8505, 106.7555),
        ("Le Van Viet x Man Thien", "Le Van Viet", "Thu Duc", 10.8465, 106.7862),
        ("Thu Thiem Tunnel East Portal", "Mai Chi Tho", "Thu Duc", 10.7742, 106.7168),
        ("Nguyen Van Linh x Nguyen Huu Tho", "Nguyen Van Linh", "District 7", 10.7298, 106.6978),
        ("Nguyen Van Linh x Ton Dat Tien", "Nguyen Van Linh", "District 7", 10.7292, 106.7185),
        ("Nguyen Van Linh x Huynh Tan Phat", "Nguyen Van Linh", "District 7", 10.7372, 106.7302),
        ("Nguyen Thi Thap x Nguyen Huu Tho", "Nguyen Thi Thap", "District 7", 10.7385, 106.7005),
        ("Khanh Hoi Bridge", "Nguyen Tat Thanh", "District 4", 10.7652, 106.7048),
        ("Nguyen Van Linh x Quoc Lo 50", "Nguyen Van Linh", "Binh Chanh", 10.7215, 106.6548),
        ("Phu Lam Roundabout", "Kinh Duong Vuong", "District 6", 10.7535, 106.6355),
        ("Hau Giang x Minh Phung", "Hau Giang", "District 6", 10.7497, 106.6512),
        ("Kinh Duong Vuong x Ten Lua", "Kinh Duong Vuong", "Binh Tan", 10.7445, 106.6142),
        ("Pham The Hien x Ta Quang Buu", "Pham The Hien", "District 8", 10.7382, 106.6625),
        ("Au Co x Luy Ban Bich", "Au Co", "Tan Phu", 10.7812, 106.6388),
        ("Go Vap Six-way Intersection", "Quang Trung", "Go Vap", 10.8266, 106.6796),
        ("Pham Van Dong x Le Quang Dinh", "Pham Van Dong", "Binh Thanh", 10.8225, 106.6935),
        ("An Suong Intersection", "Truong Chinh", "District 12", 10.8440, 106.6140),
        ("Nga Tu Ga", "Quoc Lo 1A", "Thu Duc", 10.8628, 106.7140),
        ("Binh Trieu Bridge", "Quoc Lo 13", "Binh Thanh", 10.8268, 106.7122),
        ("Quang Trung x Tan Son", "Quang Trung", "Go Vap", 10.8365, 106.6590),
    ]);

    public static readonly IReadOnlyList<WeatherSite> WeatherStations =
    [
        new("HCMC-District1", "District 1", new(10.7769, 106.7009), 0.5),
        new("HCMC-District3", "District 3", new(10.7843, 106.6844), 0.4),
        new("HCMC-District5", "District 5", new(10.7540, 106.6634), 0.4),
        new("HCMC-District7", "District 7", new(10.7340, 106.7216), -0.2),
        new("HCMC-BinhThanh", "Binh Thanh", new(10.8106, 106.7091), 0.1),
        new("HCMC-TanBinh", "Tan Binh", new(10.8014, 106.6526), 0.3),
        new("HCMC-GoVap", "Go Vap", new(10.8387, 106.6653), 0.2),
        new("HCMC-ThuDuc", "Thu Duc", new(10.8494, 106.7537), -0.4),
        new("HCMC-BinhTan", "Binh Tan", new(10.7652, 106.6038), 0.2),
    ];

    public static readonly IReadOnlyList<AirSensorSite> AirSensors =
    [
        new("001", "Ben Thanh", "District 1", new(10.7723, 106.6985), 26, 1.60, 1.10),
        new("002", "Dan Chu Roundabout", "District 3", new(10.7781, 106.6812), 27, 1.65, 1.05),
        new("003", "Cho Lon", "District 5", new(10.7525, 106.6590), 28, 1.70, 1.00),
        new("004", "Phu My Hung", "District 7", new(10.7295, 106.7180), 20, 1.55, 0.75),
        new("005", "Hang Xanh", "Binh Thanh", new(10.8015, 106.7112), 30, 1.75, 1.20),
        new("006", "Tan Son Nhat", "Tan Binh", new(10.8050, 106.6620), 30, 1.70, 1.15),
        new("007", "Go Vap", "Go Vap", new(10.8266, 106.6796), 28, 1.70, 1.00),
        new("008", "Thu Duc Interchange", "Thu Duc", new(10.8495, 106.7718), 31, 1.85, 1.20),
        new("009", "An Lac", "Binh Tan", new(10.7445, 106.6142), 33, 1.85, 1.15),
    ];

    public static readonly IReadOnlyList<RoadSegment> RoadSegments =
    [
        new("001", "Vo Van Kiet", "Vo Van Kiet eastbound (District 5 to District 1)", "forward", "District 5", new(10.7560, 106.6830), 4, 7000, 55, 1.00, 1.20, 0.85),
        new("002", "Vo Van Kiet", "Vo Van Kiet westbound (District 1 to Binh Tan)", "backward", "District 5", new(10.7545, 106.6800), 4, 7000, 55, 0.95, 0.85, 1.20),
        new("003", "Nguyen Van Linh", "Nguyen Van Linh eastbound (Binh Chanh to Phu My Hung)", "forward", "District 7", new(10.7300, 106.7050), 4, 7500, 60, 0.95, 1.10, 0.95),
        new("004", "Cong Hoa", "Cong Hoa inbound (Truong Chinh to Lang Cha Ca)", "forward", "Tan Binh", new(10.8010, 106.6500), 3, 6000, 45, 1.10, 1.20, 0.90),
        new("005", "Truong Chinh", "Truong Chinh inbound (An Suong to Bay Hien)", "forward", "Tan Binh", new(10.8120, 106.6300), 3, 6500, 50, 1.05, 1.20, 0.90),
        new("006", "Cach Mang Thang Tam", "Cach Mang Thang Tam inbound (Bay Hien to Ben Thanh)", "forward", "District 3", new(10.7830, 106.6720), 3, 5000, 40, 1.05, 1.15, 0.95),
        new("007", "Dien Bien Phu", "Dien Bien Phu inbound (Hang Xanh to District 1)", "forward", "Binh Thanh", new(10.7960, 106.7050), 3, 5500, 40, 1.10, 1.20, 0.95),
        new("008", "Xa Lo Ha Noi", "Xa Lo Ha Noi inbound (Thu Duc to Saigon Bridge)", "forward", "Thu Duc", new(10.8200, 106.7600), 5, 9000, 60, 1.00, 1.25, 0.85),
        new("009", "Xa Lo Ha Noi", "Xa Lo Ha Noi outbound (Saigon Bridge to Thu Duc)", "backward", "Thu Duc", new(10.8210, 106.7610), 5, 9000, 60, 0.95, 0.85, 1.25),
        new("010", "Phan Dang Luu", "Phan Dang Luu (Phu Nhuan to Binh Thanh)", "forward", "Phu Nhuan", new(10.8010, 106.6880), 2, 4000, 35, 1.05, 1.05, 1.05),
        new("011", "Nguyen Huu Tho", "Nguyen Huu Tho inbound (Nha Be to District 4)", "forward", "District 7", new(10.7450, 106.7000), 3, 6000, 50, 1.00, 1.20, 0.90),
        new("012", "Pham Van Dong", "Pham Van Dong westbound (Thu Duc to Go Vap)", "forward", "Thu Duc", new(10.8300, 106.7150), 4, 8000, 60, 0.85, 1.10, 1.00),
        new("013", "Nguyen Thi Minh Khai", "Nguyen Thi Minh Khai (District 3 to District 1)", "forward", "District 1", new(10.7840, 106.6990), 3, 5000, 35, 1.00, 1.05, 1.10),
        new("014", "Le Loi", "Le Loi (Ben Thanh to Saigon Opera House)", "forward", "District 1", new(10.7733, 106.7010), 3, 4000, 30, 0.95, 1.00, 1.10),
        new("015", "Mai Chi Tho", "Mai Chi Tho westbound (An Phu to Thu Thiem Tunnel)", "forward", "Thu Duc", new(10.7830, 106.7350), 4, 7000, 60, 0.95, 1.25, 0.85),
        new("016", "Quoc Lo 1A", "Quoc Lo 1A (An Suong to An Lac)", "forward", "Binh Tan", new(10.8000, 106.6050), 4, 8000, 55, 1.00, 1.05, 1.05),
        new("017", "Hoang Van Thu", "Hoang Van Thu (Lang Cha Ca to Phu Nhuan)", "forward", "Tan Binh", new(10.7995, 106.6660), 3, 5000, 40, 1.10, 1.15, 1.00),
    ];

    public static readonly IReadOnlyList<ZoneSite> CongestionZones =
    [
        new("001", "Ben Thanh Market area", "District 1", new(10.7725, 106.6980), 600, 1.10),
        new("002", "Hang Xanh roundabout", "Binh Thanh", new(10.8015, 106.7110), 700, 1.20),
        new("003", "Tan Son Nhat airport gateway", "Tan Binh", new(10.8050, 106.6620), 900, 1.20),
        new("004", "Bay Hien intersection", "Tan Binh", new(10.7929, 106.6531), 600, 1.10),
        new("005", "Dan Chu roundabout", "District 3", new(10.7775, 106.6805), 500, 1.00),
        new("006", "Phu My Hung - Nguyen Van Linh", "District 7", new(10.7295, 106.7100), 1000, 0.90),
        new("007", "Thu Duc interchange", "Thu Duc", new(10.8495, 106.7720), 1200, 1.05),
        new("008", "An Suong intersection", "District 12", new(10.8440, 106.6140), 1000, 1.15),
        new("009", "Cho Lon - Binh Tay Market", "District 6", new(10.7495, 106.6510), 700, 0.95),
        new("010", "Go Vap six-way intersection", "Go Vap", new(10.8266, 106.6796), 600, 1.00),
    ];

    private static CameraSite[] Number((string Place, string Road, string District, double Lat, double Lon)[] rows)
    {
        var sites = new CameraSite[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var (place, road, district, lat, lon) = rows[i];
            sites[i] = new CameraSite((i + 1).ToString("D3", System.Globalization.CultureInfo.InvariantCulture), place, road, district, new GeoPoint(lat, lon));
        }
        return sites;
    }
}
