namespace JowiShop.DemoData;

/// <summary>Names in the scripts a Tashkent shop sees: Uzbek Latin (with o' and g'), Cyrillic and Latin.</summary>
internal static class DemoNames
{
    public static readonly string[] FirstNames =
    [
        "Dilnoza", "G'ulom", "O'tkir", "Sardor", "Malika", "Jasur", "Nodira", "Bekzod", "Shahnoza", "Otabek",
        "Ольга", "Алексей", "Наталья", "Дмитрий", "Гульнара", "Рустам", "Anna", "John", "Maria", "Timur",
    ];

    public static readonly string[] LastNames =
    [
        "Karimova", "Rahimov", "Yo'ldoshev", "Sobirova", "To'xtayev", "G'aniyev", "Qodirova", "Ergashev",
        "Иванова", "Петров", "Ким", "Ахмедова", "Smith", "Nazarov", "Usmonova", "Xolmatov",
    ];

    public static readonly string[] Categories =
    [
        "Dairy", "Bakery", "Beverages", "Meat", "Fruit", "Vegetables", "Sweets", "Household", "Молочные продукты", "Напитки",
        "Non mahsulotlari", "Go'sht", "Shirinliklar", "Snacks", "Frozen",
    ];

    public static readonly string[] Products =
    [
        "Non (lepyoshka)", "Молоко 3.2%", "Qo'y go'shti", "Sut", "Kefir", "Qatiq", "Сметана 20%", "Tvorog", "Pishloq", "Sariyog'",
        "Choy ko'k", "Qora choy", "Кофе молотый", "Coca-Cola", "Fanta", "Mineral suv", "Шоколад", "Pechenye", "Konfet", "Olma",
        "Anor", "Uzum", "Banan", "Kartoshka", "Piyoz", "Sabzi", "Pomidor", "Bodring", "Guruch", "Makaron",
        "Un", "Shakar", "Tuz", "Yog'", "Tuxum", "Tovuq", "Mol go'shti", "Kolbasa", "Сосиски", "Sovun",
    ];

    public static readonly string[] Sizes = ["0.5 l", "1 l", "1.5 l", "250 g", "500 g", "1 kg", "small", "large", "pack", "family"];
}
