"""Words shoppers and sellers use for a category that its Google Product Taxonomy path does not say
("sneakers" for Shoes, "power bank" for Batteries, "tee" for Shirts & Tops): the synonyms the BM25
candidate source (`category_bm25`) adds to a category's own words. Keyed by full path; a path the
loaded taxonomy lacks is skipped (a custom taxonomy gets only its own words). Written from general
marketplace vocabulary, not from any evaluation set, and kept small: a word belongs here when listings
commonly use it for that category and rarely for another."""

from __future__ import annotations

ALIASES: dict[str, str] = {
    # Animals & Pet Supplies
    "Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Food": "kibble puppy dry wet grain free",
    "Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Food": "kitten kibble pate wet dry",
    "Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Treats": "chews dental sticks jerky biscuits",
    "Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Toys": "squeaky chew tug rope fetch",
    "Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Toys": "catnip wand teaser feather laser",
    "Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Litter": "clumping clay unscented",
    "Animals & Pet Supplies > Pet Supplies > Pet Collars & Harnesses": "harness collar no pull",
    "Animals & Pet Supplies > Pet Supplies > Pet Leashes": "leash lead retractable",
    "Animals & Pet Supplies > Pet Supplies > Pet Bowls, Feeders & Waterers": "bowl feeder fountain waterer",
    "Animals & Pet Supplies > Pet Supplies > Fish Supplies > Aquarium Filters": "fish tank filter",
    # Apparel & Accessories
    "Apparel & Accessories > Shoes": "sneakers trainers boots sandals loafers heels slippers footwear running",
    "Apparel & Accessories > Clothing > Shirts & Tops": "shirt tee t-shirt blouse polo tank top hoodie sweatshirt sweater "
                                                        "pullover cardigan henley",
    "Apparel & Accessories > Clothing > Pants": "jeans trousers chinos joggers leggings sweatpants denim",
    "Apparel & Accessories > Clothing > Outerwear > Coats & Jackets": "jacket coat parka puffer windbreaker fleece "
                                                                      "vest down",
    "Apparel & Accessories > Clothing > Dresses": "dress maxi midi sundress",
    "Apparel & Accessories > Clothing > Underwear & Socks > Socks": "crew ankle no show",
    "Apparel & Accessories > Clothing > Underwear & Socks > Underwear": "boxer briefs panties trunks",
    "Apparel & Accessories > Clothing > Sleepwear & Loungewear > Pajamas": "pyjamas pj sleep set",
    "Apparel & Accessories > Clothing > Swimwear": "bikini swimsuit trunks boardshorts",
    "Apparel & Accessories > Clothing Accessories > Hats": "cap beanie baseball bucket snapback",
    "Apparel & Accessories > Clothing Accessories > Sunglasses": "polarized shades uv400 aviator",
    "Apparel & Accessories > Jewelry > Watches": "watch wristwatch chronograph quartz automatic dial",
    "Apparel & Accessories > Jewelry > Necklaces": "pendant chain",
    "Apparel & Accessories > Jewelry > Earrings": "studs hoops",
    "Apparel & Accessories > Handbags, Wallets & Cases > Handbags": "purse tote crossbody shoulder bag clutch satchel",
    "Apparel & Accessories > Handbags, Wallets & Cases > Wallets & Money Clips": "wallet bifold trifold rfid "
                                                                                 "cardholder",
    # Arts & Entertainment
    "Arts & Entertainment > Hobbies & Creative Arts > Musical Instruments > String Instruments > Guitars":
        "acoustic electric guitar fender strat",
    "Arts & Entertainment > Hobbies & Creative Arts > Musical Instruments > Electronic Musical Instruments > "
    "Musical Keyboards": "piano keyboard 61 keys 88 keys synthesizer",
    "Arts & Entertainment > Hobbies & Creative Arts > Arts & Crafts > Art & Crafting Materials > Craft Paint, Ink & "
    "Glaze > Art & Craft Paint": "acrylic watercolor paints gouache",
    "Arts & Entertainment > Hobbies & Creative Arts > Arts & Crafts > Art & Crafting Tools > Needles & Hooks > "
    "Knitting Needles": "knitting circular bamboo",
    "Arts & Entertainment > Party & Celebration > Party Supplies > Balloons": "balloon latex foil helium",
    # Baby & Toddler
    "Baby & Toddler > Diapering > Diapers": "nappies diaper size newborn",
    "Baby & Toddler > Diapering > Baby Wipes": "wipes unscented sensitive",
    "Baby & Toddler > Baby Transport > Baby Strollers": "stroller pram pushchair travel system jogging",
    "Baby & Toddler > Baby Transport > Baby & Toddler Car Seats": "infant convertible booster rear facing isofix",
    "Baby & Toddler > Nursing & Feeding > Baby Bottles": "anti colic bottle nipple",
    "Baby & Toddler > Baby Health > Pacifiers & Teethers": "pacifier dummy soother teether",
    "Baby & Toddler > Baby Safety > Baby Monitors": "video audio monitor nursery camera",
    # Business & Industrial
    "Business & Industrial > Work Safety Protective Gear > Safety Gloves": "work gloves nitrile cut resistant",
    "Business & Industrial > Medical > Medical Supplies > Disposable Gloves": "nitrile latex exam gloves",
    "Business & Industrial > Work Safety Protective Gear > Hardhats": "hard hat helmet",
    # Cameras & Optics
    "Cameras & Optics > Cameras > Digital Cameras": "mirrorless dslr megapixel camera body",
    "Cameras & Optics > Cameras > Video Cameras": "action camera camcorder 4k gopro",
    "Cameras & Optics > Cameras > Surveillance Cameras": "security camera cctv ip camera doorbell",
    "Cameras & Optics > Camera & Optic Accessories > Camera & Video Camera Lenses > Camera Lenses":
        "lens mm f/1.8 zoom prime telephoto",
    "Cameras & Optics > Camera & Optic Accessories > Tripods & Monopods": "tripod monopod",
    # Electronics
    "Electronics > Communications > Telephony > Mobile Phones": "smartphone cell phone unlocked iphone android 5g",
    "Electronics > Communications > Telephony > Mobile Phone Accessories > Mobile Phone Cases":
        "phone case cover iphone galaxy shockproof",
    "Electronics > Audio > Audio Components > Headphones & Headsets": "earbuds earphones headphones headset "
                                                                       "wireless bluetooth noise cancelling in-ear "
                                                                       "over-ear",
    "Electronics > Audio > Audio Components > Speakers": "bluetooth speaker soundbar subwoofer portable",
    "Electronics > Electronics Accessories > Power > Batteries": "power bank portable charger mah",
    "Electronics > Electronics Accessories > Power > Power Adapters & Chargers": "charger usb-c wall charger fast "
                                                                                 "charging pd watt",
    "Electronics > Electronics Accessories > Cables": "cable cord usb-c lightning hdmi",
    "Electronics > Computers > Laptops": "laptop notebook chromebook macbook ultrabook",
    "Electronics > Computers > Tablet Computers": "tablet ipad android tab",
    "Electronics > Computers > Desktop Computers": "desktop pc tower all-in-one",
    "Electronics > Video > Computer Monitors": "monitor display ips hz",
    "Electronics > Video > Televisions": "tv smart tv 4k uhd oled qled",
    "Electronics > Electronics Accessories > Computer Components > Input Devices > Keyboards":
        "mechanical keyboard keys switches",
    "Electronics > Electronics Accessories > Computer Components > Input Devices > Mice & Trackballs":
        "mouse wireless mouse dpi gaming mouse",
    "Electronics > Electronics Accessories > Computer Components > Storage Devices > Hard Drives":
        "ssd hdd solid state nvme external drive",
    "Electronics > Electronics Accessories > Computer Components > Storage Devices > USB Flash Drives":
        "thumb drive pen drive usb stick",
    "Electronics > Electronics Accessories > Memory > Flash Memory > Flash Memory Cards": "microsd sd card sdxc",
    "Electronics > Networking > Bridges & Routers > Wireless Routers": "wifi router mesh",
    "Electronics > Video Game Consoles": "console playstation xbox nintendo switch",
    "Electronics > Electronics Accessories > Computer Components > Input Devices > Game Controllers":
        "controller gamepad joystick",
    "Software > Video Game Software": "video game ps5 xbox nintendo switch",
    "Health & Beauty > Health Care > Biometric Monitors > Activity Monitors": "fitness tracker smartwatch smart watch "
                                                                              "step counter",
    # Food, Beverages & Tobacco
    "Food, Beverages & Tobacco > Beverages > Coffee": "beans ground roast espresso k-cup pods",
    "Food, Beverages & Tobacco > Beverages > Tea & Infusions": "tea bags green black herbal loose leaf",
    "Food, Beverages & Tobacco > Food Items > Snack Foods": "snacks chips crisps bars popcorn",
    "Food, Beverages & Tobacco > Food Items > Candy & Chocolate": "candy chocolate gummies sweets",
    "Food, Beverages & Tobacco > Food Items > Nuts & Seeds": "almonds cashews peanuts",
    # Furniture
    "Furniture > Sofas": "couch sofa sectional loveseat",
    "Furniture > Office Furniture > Office Chairs": "ergonomic desk chair gaming chair swivel",
    "Furniture > Office Furniture > Desks": "desk standing desk computer desk",
    "Furniture > Beds & Accessories > Mattresses": "mattress memory foam hybrid queen king twin",
    "Furniture > Shelving > Bookcases & Standing Shelves": "bookshelf bookcase shelves",
    # Hardware
    "Hardware > Tools > Drills > Handheld Power Drills": "cordless drill driver 20v",
    "Hardware > Tools > Screwdrivers": "screwdriver set bits",
    "Hardware > Tools > Flashlights & Headlamps > Flashlights": "flashlight torch lumens tactical",
    "Hardware > Tools > Wrenches": "wrench spanner socket",
    "Hardware > Tools > Tool Sets": "tool kit mechanics",
    "Hardware > Tools > Saws": "saw circular saw jigsaw",
    # Health & Beauty
    "Health & Beauty > Personal Care > Hair Care > Shampoo & Conditioner": "shampoo conditioner",
    "Health & Beauty > Personal Care > Oral Care > Toothbrushes": "electric toothbrush sonic brush heads",
    "Health & Beauty > Personal Care > Oral Care > Toothpaste": "toothpaste whitening fluoride",
    "Health & Beauty > Personal Care > Cosmetics > Skin Care > Lotion & Moisturizer": "moisturizer cream lotion "
                                                                                        "face cream",
    "Health & Beauty > Personal Care > Cosmetics > Skin Care > Sunscreen": "spf sunblock",
    "Health & Beauty > Personal Care > Cosmetics > Perfume & Cologne": "perfume cologne eau de parfum toilette edp "
                                                                        "edt fragrance",
    "Health & Beauty > Personal Care > Cosmetics > Makeup": "makeup lipstick mascara foundation eyeliner",
    "Health & Beauty > Personal Care > Shaving & Grooming > Electric Razors": "electric shaver razor foil",
    "Health & Beauty > Health Care > Fitness & Nutrition > Vitamins & Supplements": "vitamin supplement capsules "
                                                                                     "gummies softgels tablets",
    "Health & Beauty > Health Care > Fitness & Nutrition > Nutrition Drinks & Shakes": "protein shake",
    # Home & Garden
    "Home & Garden > Kitchen & Dining > Kitchen Appliances > Coffee Makers & Espresso Machines":
        "coffee maker espresso machine brewer",
    "Home & Garden > Kitchen & Dining > Kitchen Appliances > Food Mixers & Blenders": "blender mixer smoothie",
    "Home & Garden > Kitchen & Dining > Kitchen Appliances > Deep Fryers": "air fryer fryer",
    "Home & Garden > Kitchen & Dining > Cookware & Bakeware > Cookware > Pressure Cookers & Canners": "instant pot multi cooker",
    "Home & Garden > Kitchen & Dining > Cookware & Bakeware > Cookware": "pan pot skillet frying pan nonstick "
                                                                         "dutch oven",
    "Home & Garden > Kitchen & Dining > Kitchen Tools & Utensils > Kitchen Knives": "knife chef knife santoku",
    "Home & Garden > Kitchen & Dining > Food & Beverage Carriers > Water Bottles": "water bottle flask tumbler "
                                                                                   "insulated",
    "Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs": "mug cup",
    "Home & Garden > Household Appliances > Vacuums": "vacuum cleaner robot vacuum cordless stick",
    "Home & Garden > Linens & Bedding > Bedding > Bed Sheets": "sheet set fitted sheet thread count",
    "Home & Garden > Linens & Bedding > Bedding > Pillows": "pillow",
    "Home & Garden > Linens & Bedding > Bedding > Quilts & Comforters": "comforter duvet quilt",
    "Home & Garden > Lighting > Light Bulbs > LED Light Bulbs": "led bulb e26 a19 watt equivalent",
    "Home & Garden > Decor > Home Fragrances > Candles": "candle scented soy wax",
    "Home & Garden > Household Supplies > Laundry Supplies > Laundry Detergent": "detergent pods",
    "Home & Garden > Lawn & Garden > Gardening > Gardening Tools": "trowel pruner pruning shears",
    "Home & Garden > Lawn & Garden > Watering & Irrigation > Garden Hoses": "hose",
    # Luggage & Bags
    "Luggage & Bags > Backpacks": "backpack rucksack daypack laptop backpack",
    "Luggage & Bags > Suitcases": "luggage carry-on spinner hardside checked",
    "Luggage & Bags > Duffel Bags": "duffel duffle gym bag weekender",
    # Mature
    "Mature > Weapons > Gun Care & Accessories > Gun Holsters": "holster iwb owb concealed carry",
    "Mature > Weapons > Gun Care & Accessories > Gun Cleaning": "cleaning kit bore brush",
    # Media
    "Media > Books > Print Books": "paperback hardcover novel edition",
    "Media > DVDs & Videos": "blu-ray dvd movie",
    "Media > Music & Sound Recordings > Records & LPs": "vinyl lp record",
    # Office Supplies
    "Office Supplies > Office Instruments > Writing & Drawing Instruments > Pens & Pencils": "pen ballpoint gel "
                                                                                                "rollerball",
    "Office Supplies > General Office Supplies > Paper Products > Notebooks & Notepads": "notebook journal "
                                                                                         "notepad ruled",
    "Office Supplies > General Office Supplies > Paper Products > Printer & Copier Paper": "copy paper printer paper "
                                                                                           "ream",
    # Religious & Ceremonial
    "Religious & Ceremonial > Religious Items > Prayer Beads": "rosary mala",
    # Software
    "Software > Computer Software > Antivirus & Security Software": "antivirus internet security vpn",
    "Software > Computer Software > Business & Productivity Software": "office word excel productivity",
    # Sporting Goods
    "Sporting Goods > Exercise & Fitness > Yoga & Pilates > Yoga & Pilates Mats": "yoga mat exercise mat",
    "Sporting Goods > Exercise & Fitness > Weight Lifting > Free Weights": "dumbbells kettlebell barbell weights",
    "Sporting Goods > Exercise & Fitness > Exercise Bands": "resistance bands loop bands",
    "Sporting Goods > Outdoor Recreation > Camping & Hiking > Tents": "tent backpacking person",
    "Sporting Goods > Outdoor Recreation > Cycling > Bicycles": "bike mountain bike road bike",
    "Sporting Goods > Outdoor Recreation > Fishing > Fishing Rods": "rod spinning casting",
    # Toys & Games
    "Toys & Games > Toys > Building Toys > Interlocking Blocks": "lego bricks building set",
    "Toys & Games > Toys > Dolls, Playsets & Toy Figures > Action & Toy Figures": "action figure figurine",
    "Toys & Games > Toys > Dolls, Playsets & Toy Figures > Stuffed Animals": "plush plushie teddy bear",
    "Toys & Games > Puzzles > Jigsaw Puzzles": "jigsaw puzzle pieces",
    "Toys & Games > Games > Board Games": "board game strategy family game",
    "Toys & Games > Games > Card Games": "card game deck",
    "Toys & Games > Toys > Remote Control Toys": "rc remote control",
    # Vehicles & Parts
    "Vehicles & Parts > Vehicle Parts & Accessories > Motor Vehicle Parts > Motor Vehicle Wheel Systems > "
    "Motor Vehicle Tires": "tire tyre all season",
    "Vehicles & Parts > Vehicle Parts & Accessories > Vehicle Maintenance, Care & Decor > Vehicle Fluids > "
    "Vehicle Motor Oil": "motor oil synthetic 5w-30",
    "Vehicles & Parts > Vehicle Parts & Accessories > Motor Vehicle Electronics": "car stereo dash cam",
    "Vehicles & Parts > Vehicle Parts & Accessories > Vehicle Maintenance, Care & Decor > Vehicle Cleaning":
        "car wash detailing",
}
