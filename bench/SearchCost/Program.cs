using System.Diagnostics;
using JowiShop.Grains.Abstractions.Search;
using JowiShop.Grains.Search;

// The large set's shapes (src/DemoData): 66,667 product names from 40 words ("Pomidor #1234"),
// 100,000 SKUs "SKU-000123", 50,000 customer names from 20 x 16 names; the bench's queries (3-letter
// name prefixes) plus harder ones. Per query: the tiers a search runs, timed over many rounds on
// one thread (Stopwatch, GC.GetAllocatedBytesForCurrentThread), after a warm-up.
string[] words = ["Non (lepyoshka)", "Молоко 3.2%", "Qo'y go'shti", "Sut", "Kefir", "Qatiq", "Сметана 20%", "Tvorog", "Pishloq", "Sariyog'",
    "Choy ko'k", "Qora choy", "Кофе молотый", "Coca-Cola", "Fanta", "Mineral suv", "Шоколад", "Pechenye", "Konfet", "Olma",
    "Anor", "Uzum", "Banan", "Kartoshka", "Piyoz", "Sabzi", "Pomidor", "Bodring", "Guruch", "Makaron",
    "Un", "Shakar", "Tuz", "Yog'", "Tuxum", "Tovuq", "Mol go'shti", "Kolbasa", "Сосиски", "Sovun"];
string[] first = ["Dilnoza", "G'ulom", "O'tkir", "Sardor", "Malika", "Jasur", "Nodira", "Bekzod", "Shahnoza", "Otabek",
    "Ольга", "Алексей", "Наталья", "Дмитрий", "Гульнара", "Рустам", "Anna", "John", "Maria", "Timur"];
string[] last = ["Karimova", "Rahimov", "Yo'ldoshev", "Sobirova", "To'xtayev", "G'aniyev", "Qodirova", "Ergashev",
    "Иванова", "Петров", "Ким", "Ахмедова", "Smith", "Nazarov", "Usmonova", "Xolmatov"];
var random = new Random(1);
var byName = Comparer<(Guid Id, string Name)>.Create((a, b) => string.CompareOrdinal(a.Name, b.Name) is var c and not 0 ? c : a.Id.CompareTo(b.Id));
var products = Enumerable.Range(0, 66_667).Select(i => (Id: Guid.NewGuid(), Name: words[i % 40] + (i >= 40 ? $" #{i / 40 + 1}" : ""))).ToArray();
var customers = Enumerable.Range(0, 50_000).Select(_ => (Id: Guid.NewGuid(), Name: $"{first[random.Next(20)]} {last[random.Next(16)]}")).ToArray();

var before = GC.GetTotalMemory(true);
var names = new TextIndex<Tuple<Guid, string>>(Comparer<Tuple<Guid, string>>.Create((a, b) => byName.Compare((a.Item1, a.Item2), (b.Item1, b.Item2))), inner: true);
var skus = new TextIndex<Tuple<Guid, string>>(Comparer<Tuple<Guid, string>>.Create((a, b) => byName.Compare((a.Item1, a.Item2), (b.Item1, b.Item2))), inner: false);
var watch = Stopwatch.StartNew();
var n = 0;
foreach (var p in products.OrderBy(p => p, byName).Select(p => Tuple.Create(p.Id, p.Name)))
{
    names.Add(SearchKey.Of(p.Item2), p, bulk: true);
    skus.Add($"sku-{++n:D6}", p, bulk: true);
}
names.Sort();
skus.Sort();
var people = new TextIndex<Tuple<Guid, string>>(Comparer<Tuple<Guid, string>>.Create((a, b) => byName.Compare((a.Item1, a.Item2), (b.Item1, b.Item2))), inner: true);
foreach (var c in customers.OrderBy(c => c, byName).Select(c => Tuple.Create(c.Id, c.Name)))
    people.Add(SearchKey.Of(c.Item2), c, bulk: true);
people.Sort();
Console.WriteLine($"load: {watch.ElapsedMilliseconds} ms; index memory {(GC.GetTotalMemory(true) - before) / 1048576.0:F0} MB " +
    $"({(GC.GetTotalMemory(true) - before) / (double)(products.Length + customers.Length):F0} bytes per product or customer, with the entries)");

string[] queries = ["pom", "sut", "kar", "un", "mol", "сме", "pomidor #9", "pomidor #1666", "sku-0", "sku-09999", "a k", "ova", "zzz"];
var comparer = Comparer<Tuple<Guid, string>>.Create((a, b) => byName.Compare((a.Item1, a.Item2), (b.Item1, b.Item2)));
void Search(string q)
{
    var page = new RankedPage<Tuple<Guid, string>>(comparer, 10);
    names.Exact(q, page, 0);
    if (names.Prefixed(q, page, 1) < 10)
        names.Inner(q, page, 3);
    skus.Exact(q, page, 0);
    skus.Prefixed(q, page, 2);
    var customersPage = new RankedPage<Tuple<Guid, string>>(comparer, 10);
    people.Exact(q, customersPage, 0);
    people.Prefixed(q, customersPage, 1);
    people.Inner(q, customersPage, 2);
    page.Best();
    customersPage.Best();
}
foreach (var q in queries)
    for (var i = 0; i < 2_000; i++)
        Search(q);
foreach (var q in queries)
{
    const int rounds = 20_000;
    var allocated = GC.GetAllocatedBytesForCurrentThread();
    watch.Restart();
    for (var i = 0; i < rounds; i++)
        Search(q);
    var micros = watch.Elapsed.TotalMicroseconds / rounds;
    Console.WriteLine($"{q,-14} {micros,6:F2} us  {(GC.GetAllocatedBytesForCurrentThread() - allocated) / rounds,6} bytes allocated per search (products and customers tiers)");
}
