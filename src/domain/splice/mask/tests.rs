//! Table tests of `mask_personal`: one row per spelling or trap, in realistic chat texts.

use super::mask_personal;

/// Rows that must come out unchanged.
const UNCHANGED: &[&str] = &[
    "订单号78912345678901一直没更新",
    "订单 13812345678901 还没发货",
    "运单号ZT1234567890，查不到物流",
    "单号 YT7512345678901 显示已签收",
    "一共付了¥138.50，还有运费12元",
    "2026-11-22 10:30 显示派送中",
    "11月22号下午3点说到了，可我没收到",
    "快递放在小区门口了，没人通知我",
    "包裹一直在路上，三天没动",
    "放菜鸟驿站了吗？",
    "我家小区门口的快递柜",
    "送到3号楼就行",
    "朝阳区今天下雨，快递会晚吗",
    "客服电话400-820-8820打不通",
    "中通客服95311",
    "1381234567 少了一位",
    "138123456789 多了一位",
    "快递员说放在门卫室了",
    "他说3号送到，结果5号还没到",
    "我在5楼，电梯坏了",
    "路由器坏了，一路顺风",
    "快递员把包裹扔在马路边",
    "这两个有什么区别",
    "我在小区里等了一上午",
    "我们县城没有中通吗，镇上有个驿站",
    "快递在长安街上被压坏了",
    "你们北京市东城区的网点电话多少",
    "人民路上的快递点",
    "1号线地铁站，小区3号门",
    "明天12点到14点在家",
    "2楼202",
    "物流停在杭州转运中心三天了",
    "价格是13800元，批次号 1380013800012",
    "时间 2026-11-22 13:38:00",
    "Order No. 78912345678901, waybill ZT1234567890",
    "The parcel spent 3 days on the road",
    "There is room for 2 boxes",
    "I will be home at 10:30 on 2026-11-22",
    "Nanjing Road is closed today",
    "please leave it at gate 3",
    "It costs 5/6 of the price",
    "My room is 1502",
    "",
];

#[test]
fn texts_without_personal_details_stay_as_they_are() {
    for text in UNCHANGED {
        assert_eq!(mask_personal(text), *text, "{text:?}");
    }
}

#[test]
fn phone_numbers() {
    #[rustfmt::skip]
    let rows: &[(&str, &str)] = &[
        ("电话13812345678", "电话138****5678"),
        ("手机 138 1234 5678 谢谢", "手机 138****5678 谢谢"),
        ("138-1234-5678", "138****5678"),
        ("+8613812345678", "+86 138****5678"),
        ("+86 138 1234 5678", "+86 138****5678"),
        ("(+86)13912345678", "+86 139****5678"),
        ("0086-15912345678", "+86 159****5678"),
        ("8619912345678", "+86 199****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("tel:17712345678.", "tel:177****5678."),
        ("打13812345678或15012345678都行", "打138****5678或150****5678都行"),
        ("12345678901", "12345678901"),
        ("AB13812345678", "AB13812345678"),
        ("010-12345678", "010-****5678"),
        ("0571 8888 1234", "0571-****1234"),
        ("(0571)88881234", "0571-****1234"),
        ("座机021-6234567", "座机021-****4567"),
        ("0755-8888-1234转8001", "0755-****1234转8001"),
        ("01012345678", "010-****5678"),
        ("0101234567", "010-****4567"),
        ("010-1234567", "010-****4567"),
        ("010-0234567", "010-0234567"),
        ("0571-88881234-8001", "0571-****1234-8001"),
    ];
    for (text, expected) in rows {
        assert_eq!(mask_personal(text), *expected, "{text:?}");
    }
}

#[test]
fn chinese_addresses() {
    #[rustfmt::skip]
    let rows: &[(&str, &str)] = &[
        ("我的地址是浙江省杭州市西湖区文三路123号5幢2单元301室，麻烦送上门", "我的地址是浙江省杭州市[地址已隐藏]，麻烦送上门"),
        ("上海市浦东新区张江镇祖冲之路 2288 弄 5 号 1203", "上海市[地址已隐藏]"),
        ("北京市朝阳区建国路88号SOHO现代城A座1801", "北京市[地址已隐藏]"),
        ("南京市鼓楼区中山北路100号", "南京市[地址已隐藏]"),
        ("收件地址：广东省深圳市南山区科技园南区深南大道9996号", "收件地址：广东省深圳市[地址已隐藏]"),
        ("杭州市余杭区五常街道文一西路969号", "杭州市[地址已隐藏]"),
        ("我住阳光小区，快递一直没送到", "我住[地址已隐藏]，快递一直没送到"),
        ("请送到5栋2单元", "请送到[地址已隐藏]"),
        ("幸福里小区12栋3单元602", "[地址已隐藏]"),
        ("上海市静安区南京西路1266号恒隆广场2座3楼", "上海市[地址已隐藏]"),
        ("成都市武侯区人民南路四段十二号", "成都市[地址已隐藏]"),
        ("弄堂口：徐汇区康平路100弄", "弄堂口：[地址已隐藏]"),
        ("西湖区文三路123号放在3楼门口了", "[地址已隐藏]放在3楼门口了"),
        ("文三路123号 13812345678", "[地址已隐藏] 138****5678"),
        ("河南省周口市太康县城关镇王庄村3组", "河南省周口市[地址已隐藏]"),
        ("麻烦让快递员送到江苏省苏州市工业园区星湖街328号创意产业园12幢", "麻烦让快递员送到江苏省苏州市[地址已隐藏]"),
        ("地址：湖北省武汉市洪山区珞喻路1037号华中科技大学东区学生公寓3栋", "地址：湖北省武汉市[地址已隐藏]"),
        ("我周六在家，1栋1单元楼下等", "我周六在家，[地址已隐藏]楼下等"),
        ("阳光花园3期", "[地址已隐藏]"),
    ];
    for (text, expected) in rows {
        assert_eq!(mask_personal(text), *expected, "{text:?}");
    }
}

#[test]
fn english_addresses() {
    #[rustfmt::skip]
    let rows: &[(&str, &str)] = &[
        ("My address is No. 12 Nanjing West Road, thanks", "My address is [address hidden], thanks"),
        ("Room 1203, Building 5, No. 88 Jianguo Road, Chaoyang District, Beijing", "[address hidden], Beijing"),
        ("deliver to 88 Jianguo Rd please", "deliver to [address hidden] please"),
        ("Nanjing Road No. 12", "[address hidden]"),
        ("I live in rm 1203", "I live in [address hidden]"),
        ("Flat B, 5 Main Street", "[address hidden]"),
        ("Apt. #3 please", "[address hidden] please"),
        ("Wenyi West Lu 969", "[address hidden]"),
        ("call 13812345678, Room 2", "call 138****5678, [address hidden]"),
        ("address: 5/F, Block B, 100 Century Ave, Pudong", "address: [address hidden], Pudong"),
        ("I'm at Unit 5, 21 Queen's Road Central", "I'm at [address hidden] Central"),
    ];
    for (text, expected) in rows {
        assert_eq!(mask_personal(text), *expected, "{text:?}");
    }
}
