//go:build ignore

// passwords_gen writes passwords.txt, the list of common passwords that kamflow.ValidatePassword
// refuses (NIST SP 800-63B: a new password is checked against values known to be commonly used,
// expected or compromised). No list is downloaded: the entries are written down here from what is
// well known about the passwords people choose — the tops of the published breach compilations and
// yearly "worst passwords" lists, the words and names those are made of, keyboard walks, digit
// patterns, the Chinese number puns and pinyin favourites, the words of kamflow's own trade — and
// combined with the suffixes people add to meet a length rule. The check also undoes case,
// look-alike digits and the digits and symbols around a password, so the bare words count too.
//
//	go generate   (in the module's root; or: go run passwords_gen.go)
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// top are the most frequent passwords of the published compilations, roughly in their order.
const top = `
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123
football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael
654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer
zxcvbnm asdfgh hunter buster soccer harley batman andrew tigger sunshine iloveyou 2000 charlie
robert thomas hockey ranger daniel starwars klaster 112233 george computer michelle jessica pepper
1111 zxcvbn 555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua
cheese amanda summer love ashley nicole chelsea biteme matthew access yankees 987654321 dallas
austin thunder taylor matrix mobilemail mom monitor monitoring montana moon moscow password1
password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa55word pa55w0rd passwort motdepasse
contraseña senha wachtwoord parola haslo salasana lösenord jelszo heslo geslo sifre parool
qwerty123 qwerty1234 qwerty12345 qwerty123456 qwertyu qwertyui 1q2w3e 1q2w3e4r 1q2w3e4r5t
1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 q1w2e3r4t5y6 zaq12wsx zaq1zaq1 zaq1xsw2 1qazxsw2 qazwsxedc
1qaz2wsx3edc 1qaz@wsx !qaz2wsx qweasd qweasdzxc asdzxc asdfghjkl asdfghjk asdf1234 asdfasdf
zxcvbnm123 qwer1234 1234qwer abcd1234 1234abcd abc12345 abcdef abcdefg abcdefgh abcdefghi
abcdefghij a1b2c3 a1b2c3d4 a1b2c3d4e5 aa123456 a123456 a12345 a1234567 a12345678 a123456789
123456a 12345a 1234567a 12345678a 123456789a 123abc 123456abc qwe123 qwe123456 asd123 asd123456
zxc123 zxc123456 aaa111 qqq111 123qweasd 123qweasdzxc 1234qwerasdf iloveyou1 iloveyou2 iloveu
loveyou lovely welcome welcome1 welcome123 admin admin123 admin1234 administrator root toor
guest user test test123 testing demo changeme default secret letmein1 login master123 hello
hello123 helloworld whatever trustno1 starwars1 football1 baseball1 monkey1 dragon1 princess1
sunshine1 shadow1 superman1 michael1 jordan23 jordan1 qwerty1 abc1234 1234512345 1234554321
0123456789 9876543210 0987654321 1357924680 2468013579 1122334455 1122334455667788 11223344
12341234 123123123 123321123 112233445566 121212121212 147258369 147852369 159357 159357456
741852963 963852741 789456123 789456 456789 147258 258369 852456 654123 123654 123654789
987456321 321654987 1236987 12369874 1472583690 qazxswedc zaqxswcde poiuytrewq lkjhgfdsa
mnbvcxz 0987poiu 1234rewq qwertz qwertzuiop azerty azertyuiop ytrewq asdfg zxcvb 12qwaszx
1q2w3e4 q2w3e4r5 2wsx3edc 3edc4rfv 1qaz 2wsx xsw21qaz !qaz@wsx#edc 1q2w3e4r5t6y7u8i9o0p
princess123 sunshine123 shadow123 monkey123 dragon123 football123 baseball123 superman123
iloveyou123 michael123 charlie123 jordan123 batman123 master1234 starwars123 pokemon pokemon123
minecraft minecraft123 fortnite roblox naruto naruto123 onepiece dragonball goku pikachu
zelda mario nintendo playstation xbox360 callofduty warcraft starcraft diablo counterstrike
liverpool arsenal chelsea1 manutd barcelona realmadrid juventus bayern cowboys steelers
packers eagles patriots yankees1 redsox lakers celtics bulls warriors mets giants raiders
broncos dolphins chargers vikings bears saints ravens jaguars panthers falcons seahawks
`

// words are words and names that common passwords are made of.
const words = `
angel angels baby babygirl babyboy beautiful blessed blessing butterfly candy cookie cupcake
darling dream dreamer dreams fairy flower flowers forever friend friends friendship happy
happiness heart hearts honey hope jesus jesus1 god godisgood christ faith heaven kitty kitten
lover loving lucky magic miracle peace precious pretty rainbow rose roses smile sugar sunflower
sweet sweetheart sweetie sweety tinkerbell unicorn valentine angel1 ilovegod iloveme loveme
lovelove mylove myself mybaby mylife mother father family mommy daddy brother sister children
sexy hottie hotstuff cutie cute beauty babe beast boss bigboss bigdaddy player playboy pimp
gangster killer1 hunter1 shooter sniper ninja samurai warrior knight king queen prince lord
legend hero superstar star stars rockstar rock rocky rocket music guitar piano drums singer
dance dancer summer1 winter spring autumn sunday monday friday weekend holiday christmas
halloween easter birthday party money dollar dollars cash rich million success winner number1
champion victory freedom1 liberty america usa canada london paris berlin tokyo china japan
korea india russia france germany italy spain mexico brazil australia england scotland
ireland africa europe asia dragon2 tiger lion eagle falcon hawk wolf wolves fox bear panda
shark dolphin whale horse pony puppy doggie doggy dog cat kitty1 bunny rabbit turtle monkey2
snake spider chicken duck penguin butter cheese1 pizza chocolate coffee banana apple orange
lemon cherry strawberry peach mango pepper1 ginger1 cookie1 muffin pumpkin peanut popcorn
silver golden gold diamond crystal pearl ruby emerald sapphire platinum black white red blue
green yellow purple pink orange1 brown grey gray bluesky blueberry redrose blackcat whitecat
computer1 internet google facebook twitter instagram youtube yahoo hotmail gmail outlook
microsoft windows apple1 iphone android samsung huawei xiaomi lenovo sony nokia dell intel
linux ubuntu oracle cisco server network system security secure private public office
work business company manager sales market marketing account accounts finance money1
customer service support helpdesk engineer engineering technical director president boss1
factory industry industrial machine machines motor motors steel power energy electric
project projects contract deal deals partner client clients vendor supplier purchase
mercedes bmw audi porsche ferrari lamborghini toyota honda nissan mazda subaru ford chevy
chevrolet corvette camaro mustang1 jeep dodge tesla volvo volkswagen harley1 yamaha ducati
kawasaki suzuki hyundai kia peugeot renault fiat lexus cadillac jaguar1 bentley bugatti
matrix1 neo trinity morpheus batman1 superman2 spiderman ironman hulk thor avengers marvel
joker harrypotter hogwarts gandalf frodo hobbit starwars2 skywalker vader yoda jedi
startrek spock terminator rambo rocky1 titanic simpsons homer bart futurama southpark
metallica nirvana beatles eminem slipknot linkinpark greenday acdc ironmaiden megadeth
michael2 jackson madonna elvis marley britney rihanna beyonce shakira adele taylorswift
jennifer1 jessica1 ashley1 amanda1 nicole1 michelle1 melissa stephanie heather elizabeth
samantha sarah hannah emily emma olivia sophia isabella madison abigail chloe grace lily
natalie victoria alexis lauren rachel rebecca megan brittany courtney danielle kimberly
christina crystal1 amber tiffany vanessa veronica monica angela andrea patricia linda
barbara susan margaret dorothy lisa nancy karen betty helen sandra donna carol ruth sharon
michelle2 laura kathy maria anna julia diana sophie charlotte lucy alice ella mia zoe
michael3 christopher matthew1 joshua1 andrew1 daniel1 david james john robert1 william
richard charles joseph thomas1 anthony mark donald steven paul kevin brian george1 edward
ronald timothy jason jeffrey ryan jacob gary nicholas eric stephen jonathan larry justin
scott brandon frank benjamin gregory samuel raymond patrick alexander jack dennis jerry
tyler aaron jose adam henry nathan douglas zachary peter kyle walter ethan jeremy harold
keith christian roger noah gerald carl terry sean austin1 arthur lawrence jesse dylan bryan
joe jordan2 billy bruce albert willie gabriel logan alan juan wayne roy ralph randy eugene
vincent russell elijah louis bobby philip johnny martin oliver lucas mason liam jackson1
aiden caden jayden carter owen luke connor hunter2 cameron isaac evan colin max maxwell
buddy duke rocky2 bailey bella lucky1 molly daisy sadie maggie1 sophie1 chloe1 oscar toby
jake jasper milo teddy bear1 leo simba nala bentley1 cooper riley zeus apollo loki
`

// chinese are the favourites of Chinese users: pinyin words and names, number puns (520 我爱你,
// 1314 一生一世, 5201314 我爱你一生一世, 7758521 亲亲我吧我爱你), lucky numbers, and the sites and brands.
const chinese = `
woaini woaini1314 woaini520 woainimama woainibaobei woaiwojia aini aini1314 aini520 5201314
1314520 520520 521521 5211314 1314521 201314 2013145 7758521 7758258 584520 520131400
5201314520 1314520520 13145201314 52013145201314 woshishui wodemima mima mimamima nihao nihaoma
zhongguo zhonghua china123 beijing shanghai shenzhen guangzhou tianjin chongqing chengdu wuhan
hangzhou nanjing xian suzhou qingdao dalian xiamen shenyang harbin changsha zhengzhou jinan
hefei fuzhou kunming nanning taiyuan shijiazhuang dongguan foshan ningbo wuxi beijing2008
aoyun2008 zhangwei wangwei wangfang liwei lina zhangmin lijing wangjing liuwei wangxiuying
zhangjing lixiuying zhangli wangli wanglei zhangyong liyang zhangyan wangyan liujie zhangjie
wang zhang liu chen yang huang zhao zhou sun zhu gao lin luo zheng liang xie song tang han feng
deng cao peng zeng xiao tian dong yuan pan cai jiang jia ding wei xue xu yu lu ma hu guo he wu
kuaile xingfu aiqing baobei laopo laogong qinai qinaide xiaobao xiaobei tiantian xiaoxiao
yuanyuan lili jingjing huanhuan lele beibei dandan feifei tingting yingying xiaoyu xiaoming
xiaohong xiaolong longlong wangwang haha hehe hahaha hehehe meimei gege didi jiejie baba mama
shengri kaixin pengyou mingtian jintian tiananmen changcheng huanghe changjiang taiwan xianggang
aomen shanghai123 baidu taobao alibaba tencent qq123456 qq123 qqqqqq qq5201314 weixin wechat
sina sohu netease wangyi tianya renren weibo jingdong meituan didi zhihu bilibili douyin
huawei123 xiaomi123 lenovo123 haier gree midea byd geely chery sany sinopec petrochina
666888 888888 8888888 88888888 168168 168888 518518 516888 888666 666666666 888888888
66666666 99999999 123456789a 110110 119119 120120 114114 12344321 123454321 1234554321
11112222 11223344 12121212 13141314 52105210 147258 147258369 159357 123698745 963258741
aa123456 a5201314 woaini123 woaini1234 wo123456 zhang123 wang123 li123456 liu123 chen123
`

// context are the words of kamflow's trade and of its users' work.
const context = `
kamflow kamflow123 kamflow2024 kamflow2025 kamflow2026 kam123 keyaccount keyaccounts bigaccount
sales123 salesforce crm erp sap oracle1 director1 manager1 engineer1 admin1 kam1 kam2 kam3
welcome2024 welcome2025 welcome2026 password2024 password2025 password2026 spring2024 spring2025
spring2026 summer2024 summer2025 summer2026 autumn2024 autumn2025 winter2024 winter2025
winter2026 qwerty2024 qwerty2025 qwerty2026 changeme123 changeme1 newpassword newpass
mypassword mypass yourpassword passpass password! password@ default123 temp temp123 temporary
initial initpass reset reset123 abc@123 admin@123 root@123 test@123 welcome@123 p@ssw0rd123
p@55w0rd passwd passw0rd1 pa$$word pa$$w0rd superuser sysadmin webadmin webmaster
`

// suffixes are what people add to a word to meet a length rule.
var suffixes = []string{"1", "12", "123", "1234", "12345", "123456", "123456789", "!", "1!", "@123", "01", "666", "888",
	"520", "1314", "2024", "2025", "2026"}

func main() {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for _, block := range []string{top, words, chinese, context} {
		for _, w := range strings.Fields(block) {
			add(w)
		}
	}
	// Digit patterns: a digit repeated, runs up and down, pairs and triples repeated, years.
	for d := '0'; d <= '9'; d++ {
		for n := 6; n <= 12; n++ {
			add(strings.Repeat(string(d), n))
		}
	}
	for start := 0; start <= 9; start++ {
		up, down := "", ""
		for i := 0; i < 12; i++ {
			up += fmt.Sprint((start + i) % 10)
			down += fmt.Sprint((start - i + 20) % 10)
			if i >= 5 {
				add(up)
				add(down)
			}
		}
	}
	for y := 1950; y <= 2030; y++ {
		add(fmt.Sprintf("%d%d", y, y))
		add(fmt.Sprintf("%d0101", y))
		add(fmt.Sprintf("0101%d", y))
	}
	// The most common words with the suffixes people add. (The check strips the digits and
	// symbols around a password before it looks it up, so every word counts with any suffix;
	// these are the most frequent in full.)
	for _, w := range strings.Fields(top + chinese) {
		if len(w) < 4 || strings.ContainsAny(w, "0123456789") {
			continue
		}
		for _, s := range suffixes {
			if len(w)+len(s) >= 8 {
				add(w + s)
			}
		}
	}
	slices.Sort(out)
	var b strings.Builder
	b.WriteString("# Commonly used passwords, refused by kamflow.ValidatePassword; written by passwords_gen.go\n")
	b.WriteString("# (go generate): do not edit by hand. One a line, in lower case.\n")
	for _, s := range out {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if err := os.WriteFile("passwords.txt", []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("passwords.txt: %d passwords\n", len(out))
}
