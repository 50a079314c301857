using System.Text;

namespace Bench.Micro;

public static class Payloads
{
    /// <summary>A publish body's data of about the benchmark's ~380 B delivered frame.</summary>
    public static readonly byte[] Data = Encoding.UTF8.GetBytes(
        """{"seq":123456,"sentAt":638999999999999999,"id":"urn:ngsi-ld:RoadAccident:000123","severity":"high","location":{"latitude":10.7769,"longitude":106.7009},"description":"Multi-vehicle collision on Nguyen Hue","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}""");
}
