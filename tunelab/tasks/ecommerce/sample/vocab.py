"""Hand-written vocabularies for the synthetic sample: invented brand names per top-level category
and, per product kind, its Google Product Taxonomy path, the nouns a listing uses, attribute values,
features (with what each does) and uses. Every name here was made up for TuneLab; any likeness to a
real brand is a coincidence. `generate.py` turns these into products, attribute records and Q&A."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One product kind, labelled with one taxonomy category.

    `attrs` maps an attribute name (MAVE-style Title Case key) to the values a product of this kind
    may have, spelled as they appear in text. `features` are (feature, what it does) pairs: a noun
    phrase and a clause, so one feature can become a bullet, a sentence or a review snippet."""

    path: str
    short: str  # one item, as a shopper would say it after "this" or "a"
    nouns: tuple[str, ...]
    attrs: dict[str, tuple[str, ...]]
    features: tuple[tuple[str, str], ...]
    uses: tuple[str, ...]
    price: tuple[int, int]


COLORS = ("Black", "White", "Charcoal Grey", "Navy Blue", "Forest Green", "Burgundy", "Sand Beige", "Slate Blue")

BRANDS: dict[str, tuple[str, ...]] = {
    "Animals & Pet Supplies": ("Pawford", "Tailwise", "Whiskerloft", "Finmere", "Mudpaw"),
    "Apparel & Accessories": ("Northloom", "Velvra", "Quillstead", "Harrow & Finch", "Stridely"),
    "Arts & Entertainment": ("Tonewright", "Loopmere", "Cadenza Works", "Brightknot", "Fretcraft"),
    "Baby & Toddler": ("Littlenest", "Cuddlebay", "Tinytrek", "Babbleberry", "Snugglo"),
    "Business & Industrial": ("Graniteline", "Promedix", "Labwright", "Ironveil", "Clearfield Scientific"),
    "Cameras & Optics": ("Optavue", "Lumistone", "Farsight", "Shutterpine", "Clearpeak"),
    "Electronics": ("Voltaro", "Soniqo", "Kestrel Audio", "Glyphtek", "Zentrix"),
    "Food, Beverages & Tobacco": ("Ember Hollow", "Goldcomb Farms", "Red Mesa Pantry", "Misthill", "Three Kettles"),
    "Furniture": ("Oakhaven", "Linden & Lowe", "Restwell Studio", "Birchframe", "Nordvik Home"),
    "Hardware": ("Torqmaster", "Steelhound", "Benchline", "Ridgecraft", "Plumbright"),
    "Health & Beauty": ("Puravé", "Dewlane", "Brightsmile Lab", "Verdalis", "Solbrise"),
    "Home & Garden": ("Hearthwell", "Greenspire", "Copperleaf Kitchen", "Linenfold", "Morning Mill"),
    "Luggage & Bags": ("Wayfarro", "Packtrail", "Carrymore", "Roamwell", "Satchelry"),
    "Mature": ("Rangecraft", "Boreline", "Guardwell", "Sentrix Outdoors", "Longshot Supply"),
    "Media": ("Paperlark Press", "Bluefern Records", "Inkwell House", "Groove Orchard", "Starling Editions"),
    "Office Supplies": ("Deskwise", "Penmore", "Clipstone", "Ledgerly", "Papergrove"),
    "Religious & Ceremonial": ("Gracewood", "Serenmark", "Vowcraft", "Stillwater Memorials", "Lumen & Vine"),
    "Software": ("Codexa", "Shieldora", "Framecut", "Typeloft", "Bytewell"),
    "Sporting Goods": ("Summitra", "Trailforge", "Kickfield", "Reelmark", "Zenflow"),
    "Toys & Games": ("Brickwhiz", "Puzzleport", "Meeple Lane", "Tinker Bay", "Gamewright Hollow"),
    "Vehicles & Parts": ("Roadhelm", "Torquewell", "Gripline", "Motorvane", "Sparkmate"),
}

KINDS: tuple[Kind, ...] = (
    # --- Animals & Pet Supplies -----------------------------------------------------------------
    Kind(
        path="Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Beds",
        short="dog bed",
        nouns=("Orthopedic Dog Bed", "Bolster Dog Bed", "Calming Donut Dog Bed", "Elevated Dog Cot"),
        attrs={
            "Material": ("memory foam", "polyfill", "egg-crate foam", "breathable mesh"),
            "Color": ("Charcoal Grey", "Sand Beige", "Navy Blue", "Chocolate Brown"),
            "Size": ("Small", "Medium", "Large", "X-Large"),
        },
        features=(
            ("a removable zip-off cover", "goes straight into the washing machine"),
            ("a non-skid bottom", "keeps the bed in place on tile and wood floors"),
            ("raised bolster edges", "give anxious dogs something to lean on"),
            ("a waterproof inner liner", "protects the filling from accidents"),
        ),
        uses=("senior dogs with stiff joints", "crates and living rooms", "big breeds that sprawl"),
        price=(29, 119),
    ),
    Kind(
        path="Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Beds",
        short="cat bed",
        nouns=("Cat Hideaway Bed", "Self-Warming Cat Bed", "Window Perch Cat Bed", "Plush Kitten Bed"),
        attrs={
            "Material": ("felted wool", "faux fur", "sherpa fleece", "cotton canvas"),
            "Color": ("Oatmeal", "Dusty Rose", "Charcoal Grey", "Ivory"),
            "Shape": ("round", "cave", "oval", "cube"),
        },
        features=(
            ("a reflective thermal layer", "bounces your cat's body heat back without electricity"),
            ("a hooded entrance", "gives shy cats a hiding spot"),
            ("a reversible cushion", "doubles the life of the bed"),
            ("a suction-cup window mount", "holds up to 30 lb in the sun"),
        ),
        uses=("indoor cats that love to burrow", "sunny windowsills", "small dogs and kittens"),
        price=(19, 69),
    ),
    Kind(
        path="Animals & Pet Supplies > Pet Supplies > Pet Grooming Supplies > Pet Shampoo & Conditioner",
        short="pet shampoo",
        nouns=("Dog Shampoo", "Oatmeal Pet Shampoo", "Puppy Shampoo & Conditioner", "Deshedding Pet Shampoo"),
        attrs={
            "Scent": ("coconut", "lavender", "unscented", "green apple"),
            "Volume": ("16 fl oz", "32 fl oz", "1 gallon"),
            "Coat Type": ("all coat types", "double coats", "short coats", "sensitive skin"),
        },
        features=(
            ("a pH-balanced formula for pets", "avoids the dryness human shampoo can cause"),
            ("colloidal oatmeal and aloe", "soothe itchy, flaky skin"),
            ("a tear-free formula", "is gentle around the eyes"),
            ("a rich lather", "rinses out fast, even in thick fur"),
        ),
        uses=("bath time at home", "professional groomers", "puppies over eight weeks"),
        price=(9, 39),
    ),
    Kind(
        path="Animals & Pet Supplies > Pet Supplies > Fish Supplies > Aquarium Filters",
        short="aquarium filter",
        nouns=("Hang-On-Back Aquarium Filter", "Canister Filter", "Sponge Filter", "Internal Aquarium Filter"),
        attrs={
            "Tank Capacity": ("10 gallon", "20 gallon", "55 gallon", "75 gallon"),
            "Flow Rate": ("100 GPH", "200 GPH", "350 GPH"),
            "Filtration Stages": ("two-stage", "three-stage", "four-stage"),
        },
        features=(
            ("an adjustable flow valve", "lets you calm the current for bettas and fry"),
            ("a quiet submersible motor", "runs below 40 dB"),
            ("reusable bio-ceramic media", "hosts beneficial bacteria"),
            ("a self-priming pump", "restarts on its own after a power cut"),
        ),
        uses=("freshwater community tanks", "planted aquariums", "turtle tanks"),
        price=(15, 149),
    ),
    # --- Apparel & Accessories ------------------------------------------------------------------
    Kind(
        path="Apparel & Accessories > Shoes",
        short="shoe",
        nouns=("Running Shoes", "Trail Sneakers", "Leather Loafers", "Canvas Slip-On Shoes"),
        attrs={
            "Size": ("US 7", "US 8", "US 9", "US 10", "US 11"),
            "Color": ("Black", "White", "Navy Blue", "Olive", "Burgundy"),
            "Upper Material": ("knit mesh", "full-grain leather", "suede", "recycled canvas"),
        },
        features=(
            ("a cushioned EVA midsole", "absorbs impact on long walks"),
            ("a rubber outsole with deep lugs", "grips wet pavement"),
            ("a padded heel collar", "prevents blisters"),
            ("a removable insole", "makes room for custom orthotics"),
        ),
        uses=("daily commutes", "weekend runs", "standing all day at work"),
        price=(39, 149),
    ),
    Kind(
        path="Apparel & Accessories > Clothing > Underwear & Socks > Socks",
        short="pack of socks",
        nouns=("Crew Socks", "Ankle Socks", "Hiking Socks", "Compression Socks"),
        attrs={
            "Material": ("merino wool", "combed cotton", "bamboo viscose", "nylon blend"),
            "Pack Size": ("3-pair pack", "6-pair pack", "12-pair pack"),
            "Size": ("Small", "Medium", "Large"),
        },
        features=(
            ("a cushioned footbed", "softens every step"),
            ("a reinforced heel and toe", "stops holes from forming"),
            ("a seamless toe closure", "won't rub"),
            ("arch support bands", "keep the sock from twisting"),
        ),
        uses=("everyday wear", "long hikes", "cold winter mornings"),
        price=(9, 39),
    ),
    Kind(
        path="Apparel & Accessories > Clothing > Outerwear > Coats & Jackets",
        short="jacket",
        nouns=("Puffer Jacket", "Rain Jacket", "Wool Overcoat", "Quilted Vest Jacket"),
        attrs={
            "Color": ("Black", "Forest Green", "Camel", "Navy Blue", "Burgundy"),
            "Size": ("Small", "Medium", "Large", "X-Large"),
            "Insulation": ("down fill", "synthetic fill", "fleece lining", "unlined shell"),
        },
        features=(
            ("a detachable hood", "zips off when the rain stops"),
            ("sealed seams", "keep water out in a downpour"),
            ("two zippered hand pockets", "keep keys and phone secure"),
            ("a packable design", "folds into its own pocket"),
        ),
        uses=("winter commutes", "travel", "layering over a sweater"),
        price=(49, 249),
    ),
    Kind(
        path="Apparel & Accessories > Clothing Accessories > Scarves & Shawls > Scarves",
        short="scarf",
        nouns=("Knit Scarf", "Silk Scarf", "Infinity Scarf", "Blanket Scarf"),
        attrs={
            "Material": ("cashmere", "mulberry silk", "chunky acrylic knit", "lightweight modal"),
            "Color": ("Camel", "Burgundy", "Ivory", "Charcoal Grey", "Mustard Yellow"),
            "Pattern": ("plaid", "houndstooth", "solid", "floral"),
        },
        features=(
            ("fringed ends", "add movement when it hangs loose"),
            ("a generous length", "wraps twice around the neck"),
            ("a soft brushed finish", "never feels itchy"),
            ("a lightweight weave", "drapes well over coats"),
        ),
        uses=("chilly autumn days", "gifting", "dressing up a plain outfit"),
        price=(15, 89),
    ),
    # --- Arts & Entertainment -------------------------------------------------------------------
    Kind(
        path=(
            "Arts & Entertainment > Hobbies & Creative Arts > Musical Instrument & Orchestra Accessories > "
            "String Instrument Accessories > Guitar Accessories > Guitar Strings"
        ),
        short="set of guitar strings",
        nouns=("Acoustic Guitar Strings", "Electric Guitar Strings", "Classical Guitar Strings", "Bass Guitar Strings"),
        attrs={
            "Gauge": ("10-46", "11-52", "12-53", "9-42"),
            "Winding Material": ("phosphor bronze", "nickel-plated steel", "80/20 bronze", "silver-plated copper"),
            "Tension": ("light tension", "medium tension", "custom light"),
        },
        features=(
            ("an anti-corrosion coating", "keeps the tone bright for months"),
            ("hex-core construction", "holds tuning after bends"),
            ("individually sealed packs", "stay fresh until you string them"),
            ("a warm balanced tone", "suits strumming and fingerpicking"),
        ),
        uses=("dreadnought acoustics", "studio sessions", "beginners changing strings for the first time"),
        price=(6, 29),
    ),
    Kind(
        path=(
            "Arts & Entertainment > Hobbies & Creative Arts > Arts & Crafts > Art & Crafting Materials > "
            "Crafting Fibers > Yarn"
        ),
        short="skein of yarn",
        nouns=("Worsted Yarn", "Chunky Knitting Yarn", "Sock Yarn", "Cotton Crochet Yarn"),
        attrs={
            "Fiber": ("superwash merino", "100% cotton", "alpaca blend", "acrylic"),
            "Weight": ("worsted weight", "bulky weight", "fingering weight", "DK weight"),
            "Color": ("Ocean Teal", "Mustard Yellow", "Cream", "Rust Orange", "Heather Grey"),
        },
        features=(
            ("a smooth round ply", "shows off cables and stitch texture"),
            ("a 220-yard skein", "is enough for a hat or a pair of mittens"),
            ("kettle-dyed color", "gives subtle tonal variation"),
            ("a tight twist", "resists splitting on the hook"),
        ),
        uses=("knitting sweaters", "amigurumi", "first crochet projects"),
        price=(5, 29),
    ),
    Kind(
        path=(
            "Arts & Entertainment > Hobbies & Creative Arts > Musical Instruments > Electronic Musical Instruments > "
            "Musical Keyboards"
        ),
        short="keyboard",
        nouns=("Digital Piano", "Portable Keyboard", "MIDI Keyboard Controller", "Stage Piano"),
        attrs={
            "Number of Keys": ("61 keys", "76 keys", "88 keys", "49 keys"),
            "Key Action": ("semi-weighted", "fully weighted hammer action", "synth-action"),
            "Color": ("Black", "White", "Rosewood"),
        },
        features=(
            ("a built-in metronome", "keeps practice sessions in time"),
            ("a sustain pedal input", "works with any standard pedal"),
            ("two headphone jacks", "let teacher and student play silently"),
            ("hundreds of built-in voices", "cover pianos, organs and strings"),
        ),
        uses=("piano lessons", "home recording", "gigging musicians"),
        price=(99, 899),
    ),
    # --- Baby & Toddler -------------------------------------------------------------------------
    Kind(
        path="Baby & Toddler > Nursing & Feeding > Baby Bottles",
        short="baby bottle",
        nouns=("Anti-Colic Baby Bottle", "Glass Baby Bottle", "Wide-Neck Feeding Bottle", "Newborn Bottle Set"),
        attrs={
            "Capacity": ("4 oz", "5 oz", "8 oz", "9 oz"),
            "Material": ("borosilicate glass", "BPA-free plastic", "medical-grade silicone"),
            "Nipple Flow": ("slow flow", "medium flow", "fast flow"),
        },
        features=(
            ("an anti-colic vent", "reduces swallowed air during feeds"),
            ("a breast-shaped nipple", "makes switching between breast and bottle easier"),
            ("a wide neck", "makes mixing formula and cleaning simple"),
            ("printed measurement marks", "stay readable after hundreds of washes"),
        ),
        uses=("newborn feeding", "pumping parents", "night feeds"),
        price=(9, 49),
    ),
    Kind(
        path="Baby & Toddler > Baby Health > Pacifiers & Teethers",
        short="teether",
        nouns=("Silicone Teether", "Orthodontic Pacifier", "Teething Ring", "Pacifier Two-Pack"),
        attrs={
            "Age Range": ("0-6 months", "6-18 months", "3+ months"),
            "Material": ("food-grade silicone", "natural rubber", "beechwood and silicone"),
            "Color": ("Sage Green", "Blush Pink", "Sky Blue", "Sand Beige"),
        },
        features=(
            ("textured nubs", "massage sore gums"),
            ("a one-piece design", "leaves no crevices for germs"),
            ("a ventilated shield", "keeps skin dry around the mouth"),
            ("a fridge-safe body", "can be chilled for extra relief"),
        ),
        uses=("teething babies", "naps on the go", "diaper-bag backups"),
        price=(6, 24),
    ),
    Kind(
        path="Baby & Toddler > Baby Transport > Baby Carriers",
        short="baby carrier",
        nouns=("Ergonomic Baby Carrier", "Baby Wrap Carrier", "Hip Seat Carrier", "Toddler Carrier"),
        attrs={
            "Weight Capacity": ("7-35 lb", "8-45 lb", "up to 33 lb"),
            "Carry Positions": ("four carry positions", "six carry positions", "front and back carry"),
            "Color": ("Heather Grey", "Navy Blue", "Sage Green", "Black"),
        },
        features=(
            ("padded shoulder straps", "spread weight across your back"),
            ("a lumbar support belt", "eases lower-back strain on long walks"),
            ("a breathable mesh panel", "keeps baby cool in summer"),
            ("a detachable sun hood", "shades a sleeping baby"),
        ),
        uses=("newborns with the infant insert", "hiking with a toddler", "hands-free errands"),
        price=(39, 189),
    ),
    # --- Business & Industrial ------------------------------------------------------------------
    Kind(
        path="Business & Industrial > Work Safety Protective Gear > Safety Gloves",
        short="pair of work gloves",
        nouns=("Cut-Resistant Work Gloves", "Nitrile Coated Gloves", "Leather Work Gloves", "Insulated Winter Work Gloves"),
        attrs={
            "Cut Level": ("ANSI A2", "ANSI A4", "ANSI A6"),
            "Size": ("Medium", "Large", "X-Large"),
            "Coating": ("nitrile foam", "polyurethane palm", "latex crinkle", "uncoated"),
        },
        features=(
            ("touchscreen-compatible fingertips", "let you use a phone without taking them off"),
            ("a knit wrist cuff", "keeps debris out"),
            ("a reinforced thumb crotch", "lasts longer under heavy use"),
            ("a breathable back", "reduces sweaty hands"),
        ),
        uses=("warehouse handling", "glass and sheet-metal work", "landscaping"),
        price=(8, 45),
    ),
    Kind(
        path="Business & Industrial > Medical > Medical Equipment > Stethoscopes",
        short="stethoscope",
        nouns=("Dual-Head Stethoscope", "Cardiology Stethoscope", "Pediatric Stethoscope", "Classic Stethoscope"),
        attrs={
            "Tubing Color": ("Black", "Burgundy", "Ceil Blue", "Raspberry"),
            "Chestpiece Material": ("stainless steel", "aluminum alloy", "zinc alloy"),
            "Tubing Length": ("22 inch", "27 inch", "30 inch"),
        },
        features=(
            ("a tunable diaphragm", "switches between low and high frequencies with pressure"),
            ("soft-seal eartips", "block out ward noise"),
            ("latex-free tubing", "is safe for allergic patients"),
            ("an engraved name tag", "keeps it from going missing on shift"),
        ),
        uses=("nursing students", "emergency medicine", "veterinary clinics"),
        price=(25, 219),
    ),
    Kind(
        path="Business & Industrial > Science & Laboratory > Laboratory Equipment > Microscopes",
        short="microscope",
        nouns=("Compound Microscope", "Stereo Microscope", "Digital USB Microscope", "Student Microscope"),
        attrs={
            "Magnification": ("40x-1000x", "40x-2000x", "20x-40x", "10x-200x"),
            "Head Type": ("monocular", "binocular", "trinocular"),
            "Illumination": ("LED", "halogen", "dual upper and lower LED"),
        },
        features=(
            ("a mechanical stage", "moves slides precisely in two axes"),
            ("coarse and fine focus knobs", "bring cells into sharp view"),
            ("a rechargeable light source", "works away from an outlet"),
            ("a camera port", "connects an eyepiece camera for recording"),
        ),
        uses=("biology classrooms", "home-school science", "coin and circuit inspection"),
        price=(79, 649),
    ),
    # --- Cameras & Optics -----------------------------------------------------------------------
    Kind(
        path="Cameras & Optics > Camera & Optic Accessories > Camera & Video Camera Lenses > Camera Lenses",
        short="lens",
        nouns=("Prime Lens", "Zoom Lens", "Macro Lens", "Wide-Angle Lens"),
        attrs={
            "Focal Length": ("35mm", "50mm", "85mm", "18-55mm", "70-200mm"),
            "Maximum Aperture": ("f/1.4", "f/1.8", "f/2.8", "f/4"),
            "Mount": ("E-mount", "RF mount", "Z mount", "X-mount"),
        },
        features=(
            ("a silent stepping focus motor", "keeps autofocus noise out of video"),
            ("weather-sealed construction", "shrugs off drizzle and dust"),
            ("nine rounded aperture blades", "render smooth background blur"),
            ("an included petal hood", "cuts flare in bright sun"),
        ),
        uses=("portraits", "street photography", "vlogging"),
        price=(149, 1299),
    ),
    Kind(
        path="Cameras & Optics > Camera & Optic Accessories > Tripods & Monopods",
        short="tripod",
        nouns=("Travel Tripod", "Lightweight Tripod", "Video Tripod", "Camera Monopod"),
        attrs={
            "Material": ("carbon fiber", "aluminum", "magnesium alloy"),
            "Maximum Height": ("58 inches", "65 inches", "72 inches"),
            "Load Capacity": ("8 kg", "12 kg", "15 kg"),
        },
        features=(
            ("a fluid pan head", "gives smooth video pans"),
            ("twist-lock legs", "set up in seconds"),
            ("an Arca-Swiss quick-release plate", "fits most L-brackets"),
            ("a reversible center column", "gets the camera close to the ground for macro"),
        ),
        uses=("landscape photography", "long exposures", "studio video"),
        price=(49, 399),
    ),
    Kind(
        path="Cameras & Optics > Optics > Binoculars",
        short="pair of binoculars",
        nouns=("Roof Prism Binoculars", "Compact Binoculars", "Birding Binoculars", "Marine Binoculars"),
        attrs={
            "Magnification": ("8x42", "10x42", "10x50", "12x50"),
            "Prism Type": ("BaK-4 roof prism", "BaK-4 porro prism"),
            "Color": ("Olive", "Black", "Forest Green"),
        },
        features=(
            ("nitrogen-purged barrels", "stop internal fogging"),
            ("twist-up eyecups", "work with or without glasses"),
            ("fully multi-coated lenses", "brighten views at dusk"),
            ("a rubber armored body", "survives drops on the trail"),
        ),
        uses=("bird watching", "stadium seats", "whale watching from a boat"),
        price=(49, 499),
    ),
    Kind(
        path="Cameras & Optics > Camera & Optic Accessories > Camera Parts & Accessories > Camera Bags & Cases",
        short="camera bag",
        nouns=("Camera Sling Bag", "Camera Backpack", "Hard Camera Case", "Camera Shoulder Bag"),
        attrs={
            "Capacity": ("6 L", "10 L", "20 L", "30 L"),
            "Material": ("waxed canvas", "ballistic nylon", "recycled polyester"),
            "Color": ("Black", "Olive", "Charcoal Grey", "Tan"),
        },
        features=(
            ("padded adjustable dividers", "fit a body and three lenses"),
            ("a quick-access side flap", "gets the camera out in a second"),
            ("a tripod strap", "carries legs on the outside"),
            ("a laptop sleeve", "holds a 14-inch laptop"),
        ),
        uses=("travel photographers", "mirrorless kits", "day hikes with a camera"),
        price=(35, 229),
    ),
    # --- Electronics ----------------------------------------------------------------------------
    Kind(
        path="Electronics > Audio > Audio Components > Headphones & Headsets > Headphones",
        short="pair of headphones",
        nouns=("Wireless Over-Ear Headphones", "Noise Cancelling Headphones", "Wireless Earbuds", "Studio Monitor Headphones"),
        attrs={
            "Connectivity": ("Bluetooth 5.3", "wired 3.5 mm", "USB-C"),
            "Battery Life": ("30 hours", "40 hours", "8 hours", "60 hours"),
            "Color": ("Black", "White", "Midnight Blue", "Silver"),
        },
        features=(
            ("active noise cancellation", "quiets trains and open offices"),
            ("a fold-flat design", "slides into a slim travel case"),
            ("multipoint pairing", "connects to a phone and a laptop at once"),
            ("memory-foam ear cushions", "stay comfortable for hours"),
        ),
        uses=("commuting", "video calls", "mixing music"),
        price=(29, 349),
    ),
    Kind(
        path="Electronics > Communications > Telephony > Mobile Phone Accessories > Mobile Phone Cases",
        short="phone case",
        nouns=("Rugged Phone Case", "Transparent Phone Case", "Wallet Phone Case", "Slim Silicone Phone Case"),
        attrs={
            "Screen Size": ("6.1-inch", "6.7-inch", "6.4-inch"),
            "Material": ("TPU and polycarbonate", "liquid silicone", "vegan leather"),
            "Color": ("Black", "Clear", "Lavender", "Forest Green", "Red"),
        },
        features=(
            ("raised bezels", "protect the screen and camera when laid flat"),
            ("built-in magnets", "snap onto magnetic chargers"),
            ("a card slot", "holds two cards and a bill"),
            ("air-cushioned corners", "absorb drops from 10 feet"),
        ),
        uses=("everyday carry", "construction sites", "people who drop their phone a lot"),
        price=(9, 49),
    ),
    Kind(
        path="Electronics > Electronics Accessories > Computer Components > Input Devices > Keyboards",
        short="keyboard",
        nouns=("Mechanical Keyboard", "Wireless Keyboard", "Low-Profile Keyboard", "Ergonomic Split Keyboard"),
        attrs={
            "Switch Type": ("red linear switches", "brown tactile switches", "blue clicky switches", "scissor switches"),
            "Layout": ("full-size", "tenkeyless", "75% layout", "60% layout"),
            "Connectivity": ("Bluetooth and 2.4 GHz", "wired USB-C", "tri-mode wireless"),
        },
        features=(
            ("hot-swappable sockets", "let you change switches without soldering"),
            ("per-key RGB backlighting", "makes typing in the dark easy"),
            ("PBT double-shot keycaps", "never fade or shine"),
            ("a detachable cable", "makes packing easy"),
        ),
        uses=("programmers", "gaming", "writing at a standing desk"),
        price=(29, 199),
    ),
    Kind(
        path="Electronics > Electronics Accessories > Mobile Phone & Tablet Tripods & Monopods",
        short="phone tripod",
        nouns=("Selfie Stick Tripod", "Phone Tripod", "Tablet Floor Stand", "Flexible Phone Tripod"),
        attrs={
            "Maximum Height": ("40 inches", "62 inches", "12 inches"),
            "Shutter Control": ("Bluetooth remote", "wired shutter release", "app-only shutter"),
            "Color": ("Black", "White", "Pink"),
        },
        features=(
            ("a rotating phone clamp", "switches between portrait and landscape"),
            ("bendable legs", "wrap around railings and branches"),
            ("a cold-shoe mount", "adds a small light or microphone"),
            ("a pocket-size fold", "fits in a jacket pocket"),
        ),
        uses=("TikTok and Reels", "group selfies", "video calls from a tablet"),
        price=(12, 59),
    ),
    # --- Food, Beverages & Tobacco --------------------------------------------------------------
    Kind(
        path="Food, Beverages & Tobacco > Beverages > Coffee",
        short="bag of coffee",
        nouns=("Whole Bean Coffee", "Ground Coffee", "Single-Origin Coffee", "Cold Brew Coffee Blend"),
        attrs={
            "Roast Level": ("light roast", "medium roast", "dark roast", "espresso roast"),
            "Origin": ("Ethiopia", "Colombia", "Guatemala", "Sumatra"),
            "Net Weight": ("12 oz", "2 lb", "5 lb"),
        },
        features=(
            ("tasting notes of cocoa and cherry", "come through in a pour-over"),
            ("small-batch roasting", "happens the week it ships"),
            ("a one-way degassing valve", "keeps the beans fresh after opening"),
            ("a coarse grind option", "suits French press and cold brew"),
        ),
        uses=("morning drip coffee", "espresso at home", "office break rooms"),
        price=(11, 59),
    ),
    Kind(
        path="Food, Beverages & Tobacco > Beverages > Tea & Infusions",
        short="tea blend",
        nouns=("Loose Leaf Tea", "Herbal Tea Bags", "Tea Sampler", "Chai Tea Blend"),
        attrs={
            "Tea Type": ("green tea", "black tea", "rooibos", "chamomile", "oolong"),
            "Count": ("20 tea bags", "50 tea bags", "100 tea bags"),
            "Caffeine": ("caffeine-free", "low caffeine", "high caffeine"),
        },
        features=(
            ("whole leaves", "unfurl fully in the pot"),
            ("plastic-free pyramid bags", "give the leaves room to steep"),
            ("a resealable tin", "keeps the aroma in"),
            ("a bright, grassy finish", "pairs well with lemon"),
        ),
        uses=("an afternoon cup", "iced tea", "winding down before bed"),
        price=(6, 34),
    ),
    Kind(
        path="Food, Beverages & Tobacco > Food Items > Condiments & Sauces > Hot Sauce",
        short="bottle of hot sauce",
        nouns=("Habanero Hot Sauce", "Chipotle Hot Sauce", "Green Chili Sauce", "Hot Sauce Variety Pack"),
        attrs={
            "Heat Level": ("mild", "medium heat", "extra hot", "fiery"),
            "Flavor": ("smoky chipotle", "mango habanero", "garlic jalapeno", "ghost pepper"),
            "Volume": ("5 fl oz", "10 fl oz", "3-bottle set"),
        },
        features=(
            ("fermented peppers", "give a deeper, tangier taste"),
            ("no added sugar", "keeps the flavor clean"),
            ("a dasher cap", "controls every drop"),
            ("small-batch production", "happens in a family kitchen"),
        ),
        uses=("tacos and eggs", "wings night", "spicing up soups"),
        price=(5, 29),
    ),
    Kind(
        path="Food, Beverages & Tobacco > Food Items > Condiments & Sauces > Honey",
        short="jar of honey",
        nouns=("Raw Honey", "Local Honey", "Manuka-Style Honey", "Whipped Honey Spread"),
        attrs={
            "Floral Source": ("wildflower", "clover", "orange blossom", "buckwheat"),
            "Net Weight": ("12 oz", "16 oz", "3 lb"),
            "Texture": ("liquid", "creamed", "comb"),
        },
        features=(
            ("unfiltered pollen", "is left in for a fuller taste"),
            ("a squeeze bottle", "drips less than a jar"),
            ("gentle cold extraction", "preserves natural enzymes"),
            ("a glass jar", "can be reused"),
        ),
        uses=("sweetening tea", "baking", "drizzling over yogurt"),
        price=(8, 39),
    ),
    # --- Furniture ------------------------------------------------------------------------------
    Kind(
        path="Furniture > Office Furniture > Office Chairs",
        short="office chair",
        nouns=("Ergonomic Office Chair", "Mesh Desk Chair", "Executive Office Chair", "Task Chair"),
        attrs={
            "Upholstery": ("breathable mesh", "bonded leather", "fabric"),
            "Color": ("Black", "Grey", "White", "Cognac"),
            "Maximum Weight": ("250 lb", "300 lb", "400 lb"),
        },
        features=(
            ("adjustable lumbar support", "follows the curve of your lower back"),
            ("3D armrests", "move up, down and sideways"),
            ("a synchronized tilt mechanism", "reclines the seat and back together"),
            ("smooth-rolling casters", "are safe on hardwood"),
        ),
        uses=("home offices", "long workdays", "study desks"),
        price=(89, 499),
    ),
    Kind(
        path="Furniture > Tables > Accent Tables > Coffee Tables",
        short="coffee table",
        nouns=("Lift-Top Coffee Table", "Pedestal Coffee Table", "Nesting Coffee Tables", "Farmhouse Coffee Table"),
        attrs={
            "Top Material": ("solid acacia", "tempered glass", "white marble", "reclaimed pine"),
            "Finish": ("walnut finish", "matte black", "natural oak finish", "rustic grey"),
            "Shape": ("rectangular", "round", "oval"),
        },
        features=(
            ("a hidden storage compartment", "hides remotes and blankets"),
            ("a lift-up top", "turns into a laptop desk"),
            ("adjustable leg levelers", "stop wobbling on uneven floors"),
            ("a lower shelf", "holds books and baskets"),
        ),
        uses=("living rooms", "small apartments", "family game nights"),
        price=(79, 449),
    ),
    Kind(
        path="Furniture > Shelving > Bookcases & Standing Shelves",
        short="bookcase",
        nouns=("Five-Shelf Bookcase", "Ladder Shelf", "Cube Bookcase", "Corner Bookshelf"),
        attrs={
            "Number of Shelves": ("3 shelves", "5 shelves", "8 cubes"),
            "Material": ("engineered wood", "solid pine", "metal and wood"),
            "Finish": ("espresso finish", "white finish", "natural oak finish"),
        },
        features=(
            ("anti-tip wall anchors", "keep it steady around kids"),
            ("adjustable shelf pegs", "fit tall art books"),
            ("an open back", "lets cables pass through"),
            ("tool-free assembly", "takes about twenty minutes"),
        ),
        uses=("home libraries", "kids' rooms", "displaying plants and photos"),
        price=(49, 299),
    ),
    # --- Hardware -------------------------------------------------------------------------------
    Kind(
        path="Hardware > Tools > Paint Tools > Paint Brushes",
        short="paint brush",
        nouns=("Angled Sash Brush", "Wall Paint Brush", "Trim Paint Brush Set", "Chip Brush"),
        attrs={
            "Brush Width": ("1.5 inch", "2 inch", "2.5 inch", "3 inch"),
            "Bristle Material": ("nylon-polyester", "natural china bristle", "synthetic filament"),
            "Pack Size": ("single brush", "3-brush set", "5-brush set"),
        },
        features=(
            ("a comfort-grip handle", "reduces hand fatigue"),
            ("flagged bristle tips", "hold more paint for fewer dips"),
            ("a stainless ferrule", "won't rust after water cleanup"),
            ("a chiseled edge", "cuts in clean lines along ceilings"),
        ),
        uses=("interior walls", "cabinets and trim", "latex and oil paints"),
        price=(6, 39),
    ),
    Kind(
        path="Hardware > Tools > Drills > Handheld Power Drills",
        short="drill",
        nouns=("Cordless Drill Driver", "Hammer Drill", "Compact Drill Kit", "Brushless Drill"),
        attrs={
            "Voltage": ("12V", "18V", "20V"),
            "Chuck Size": ("3/8 inch", "1/2 inch"),
            "Battery": ("2.0Ah battery", "4.0Ah battery", "bare tool"),
        },
        features=(
            ("a brushless motor", "runs cooler and longer"),
            ("a 21-position clutch", "stops screws from stripping"),
            ("a built-in LED work light", "lights dark corners"),
            ("a belt clip", "keeps it close on a ladder"),
        ),
        uses=("furniture assembly", "deck building", "drilling into masonry"),
        price=(49, 249),
    ),
    Kind(
        path="Hardware > Tools > Measuring Tools & Sensors > Tape Measures",
        short="tape measure",
        nouns=("Tape Measure", "Magnetic Tape Measure", "Laser Tape Measure", "Fiberglass Long Tape"),
        attrs={
            "Length": ("16 ft", "25 ft", "35 ft", "100 ft"),
            "Blade Width": ("1 inch", "1-1/4 inch", "3/4 inch"),
            "Units": ("imperial", "metric and imperial", "metric"),
        },
        features=(
            ("a magnetic hook", "grabs steel studs"),
            ("a nylon-coated blade", "resists wear from grit"),
            ("a 13-foot standout", "reaches across openings without bending"),
            ("a shock-absorbing case", "survives drops from a roof"),
        ),
        uses=("framing", "DIY projects", "measuring rooms for flooring"),
        price=(8, 59),
    ),
    Kind(
        path="Hardware > Tools > Ladders & Scaffolding > Ladders",
        short="ladder",
        nouns=("Step Ladder", "Extension Ladder", "Multi-Position Ladder", "Telescoping Ladder"),
        attrs={
            "Material": ("aluminum", "fiberglass"),
            "Height": ("6 ft", "12 ft", "17 ft", "22 ft"),
            "Load Rating": ("225 lb", "250 lb", "300 lb"),
        },
        features=(
            ("slip-resistant rungs", "are wide enough for work boots"),
            ("a tool tray", "keeps paint cans within reach"),
            ("locking hinges", "click into place with a clear signal"),
            ("non-marring feet", "protect floors"),
        ),
        uses=("cleaning gutters", "painting ceilings", "electricians' work"),
        price=(59, 399),
    ),
    # --- Health & Beauty ------------------------------------------------------------------------
    Kind(
        path="Health & Beauty > Personal Care > Hair Care > Shampoo & Conditioner > Shampoo",
        short="shampoo",
        nouns=("Clarifying Shampoo", "Moisturizing Shampoo", "Volumizing Shampoo", "Anti-Dandruff Shampoo"),
        attrs={
            "Hair Type": ("curly hair", "fine hair", "color-treated hair", "oily scalp"),
            "Scent": ("rosemary mint", "coconut", "citrus", "fragrance-free"),
            "Volume": ("8.5 fl oz", "13.5 fl oz", "33.8 fl oz"),
        },
        features=(
            ("sulfate-free cleansers", "clean without stripping"),
            ("argan oil", "smooths frizz"),
            ("salicylic acid", "calms a flaky scalp"),
            ("a pump bottle", "is easy to use in the shower"),
        ),
        uses=("daily washing", "salon results at home", "sensitive scalps"),
        price=(7, 36),
    ),
    Kind(
        path="Health & Beauty > Personal Care > Cosmetics > Skin Care > Sunscreen",
        short="sunscreen",
        nouns=("Mineral Sunscreen", "Sunscreen Lotion", "Sunscreen Stick", "Tinted Face Sunscreen"),
        attrs={
            "SPF": ("SPF 30", "SPF 50", "SPF 15"),
            "Active Ingredient": ("zinc oxide", "titanium dioxide", "avobenzone"),
            "Volume": ("1.7 fl oz", "3 fl oz", "6 fl oz"),
        },
        features=(
            ("80 minutes of water resistance", "lasts through a swim"),
            ("a sheer, non-greasy finish", "works under makeup"),
            ("reef-conscious ingredients", "leave out oxybenzone"),
            ("a fragrance-free formula", "suits sensitive skin"),
        ),
        uses=("beach days", "daily face protection", "kids' sports"),
        price=(8, 42),
    ),
    Kind(
        path="Health & Beauty > Personal Care > Oral Care > Toothbrushes",
        short="toothbrush",
        nouns=("Electric Toothbrush", "Sonic Toothbrush", "Bamboo Toothbrush Set", "Kids Toothbrush"),
        attrs={
            "Bristle Firmness": ("soft", "extra soft", "medium"),
            "Power Source": ("rechargeable battery", "AA battery", "manual"),
            "Color": ("White", "Black", "Mint Green", "Rose Gold"),
        },
        features=(
            ("a two-minute smart timer", "pulses every thirty seconds"),
            ("a pressure sensor", "warns when you brush too hard"),
            ("a travel case", "keeps the head clean in a bag"),
            ("tapered bristles", "reach between teeth"),
        ),
        uses=("sensitive gums", "travel", "kids learning to brush"),
        price=(4, 129),
    ),
    Kind(
        path="Health & Beauty > Health Care > Fitness & Nutrition > Vitamins & Supplements",
        short="supplement",
        nouns=("Vitamin D3 Softgels", "Daily Multivitamin", "Magnesium Glycinate Capsules", "Omega-3 Fish Oil"),
        attrs={
            "Count": ("60 capsules", "90 softgels", "120 tablets", "180 capsules"),
            "Diet Type": ("vegan", "gluten-free", "non-GMO"),
            "Dosage Form": ("softgel", "capsule", "gummy", "tablet"),
        },
        features=(
            ("third-party testing", "confirms purity and potency"),
            ("an easy-to-swallow size", "is gentle on sensitive stomachs"),
            ("no artificial colors", "keeps the label short"),
            ("a two-month supply", "comes in every bottle"),
        ),
        uses=("daily wellness routines", "winter months", "active adults"),
        price=(9, 49),
    ),
    # --- Home & Garden --------------------------------------------------------------------------
    Kind(
        path="Home & Garden > Kitchen & Dining > Cookware & Bakeware > Cookware > Skillets & Frying Pans",
        short="frying pan",
        nouns=("Nonstick Frying Pan", "Skillet", "Saute Pan", "Chef's Pan"),
        attrs={
            "Diameter": ("8 inch", "10 inch", "12 inch"),
            "Material": ("cast iron", "tri-ply stainless steel", "hard-anodized aluminum", "carbon steel"),
            "Compatible Cooktops": ("induction", "gas and electric", "all cooktops"),
        },
        features=(
            ("a PFOA-free nonstick coating", "releases eggs without oil"),
            ("an oven-safe build", "goes from stovetop to oven"),
            ("a stay-cool handle", "can be held without a mitt"),
            ("a pour spout", "drains fat cleanly"),
        ),
        uses=("weeknight dinners", "searing steaks", "pancakes and eggs"),
        price=(19, 149),
    ),
    Kind(
        path="Home & Garden > Linens & Bedding > Bedding > Bed Sheets",
        short="sheet set",
        nouns=("Sheet Set", "Percale Sheet Set", "Flannel Sheets", "Linen Sheet Set"),
        attrs={
            "Bed Size": ("Twin", "Full", "Queen", "King"),
            "Fabric": ("long-staple cotton", "stonewashed linen", "brushed microfiber", "bamboo lyocell"),
            "Thread Count": ("300 thread count", "400 thread count", "600 thread count"),
        },
        features=(
            ("deep pockets", "fit mattresses up to 16 inches"),
            ("a breathable weave", "sleeps cool in summer"),
            ("an elastic all-around fitted sheet", "stays on through the night"),
            ("OEKO-TEX certification", "means no harmful dyes"),
        ),
        uses=("hot sleepers", "guest rooms", "everyday bedding"),
        price=(29, 199),
    ),
    Kind(
        path="Home & Garden > Lawn & Garden > Watering & Irrigation > Garden Hoses",
        short="garden hose",
        nouns=("Expandable Garden Hose", "Heavy-Duty Garden Hose", "Lightweight Garden Hose", "Coiled Garden Hose"),
        attrs={
            "Length": ("25 ft", "50 ft", "75 ft", "100 ft"),
            "Material": ("rubber", "hybrid polymer", "latex core with fabric cover"),
            "Connector": ("solid brass fittings", "aluminum fittings"),
        },
        features=(
            ("a kink-free design", "keeps water flowing around corners"),
            ("a 10-pattern spray nozzle", "comes in the box"),
            ("crush-proof couplings", "survive being driven over"),
            ("a drinking-water-safe lining", "is free of lead"),
        ),
        uses=("watering vegetable beds", "washing the car", "filling kiddie pools"),
        price=(19, 99),
    ),
    Kind(
        path=(
            "Home & Garden > Kitchen & Dining > Kitchen Appliances > Coffee Makers & Espresso Machines > "
            "Drip Coffee Makers"
        ),
        short="coffee maker",
        nouns=("Programmable Coffee Maker", "Drip Coffee Machine", "Brew Station Coffee Maker", "Single-Serve Drip Brewer"),
        attrs={
            "Capacity": ("5 cups", "10 cups", "12 cups", "14 cups"),
            "Carafe Type": ("glass carafe", "thermal carafe"),
            "Color": ("Black", "Stainless Steel", "White", "Red"),
        },
        features=(
            ("a 24-hour programmable timer", "has coffee ready when you wake up"),
            ("a pause-and-serve function", "lets you pour mid-brew"),
            ("a reusable mesh filter", "saves on paper filters"),
            ("a bold brew setting", "slows the flow for stronger coffee"),
        ),
        uses=("busy mornings", "office kitchens", "households of coffee drinkers"),
        price=(29, 199),
    ),
    # --- Luggage & Bags -------------------------------------------------------------------------
    Kind(
        path="Luggage & Bags > Backpacks",
        short="backpack",
        nouns=("Laptop Backpack", "Daypack", "Rolltop Backpack", "Travel Backpack"),
        attrs={
            "Capacity": ("20 L", "28 L", "35 L", "40 L"),
            "Material": ("water-resistant nylon", "recycled polyester", "waxed canvas"),
            "Color": ("Black", "Olive", "Navy Blue", "Sand Beige", "Burgundy"),
        },
        features=(
            ("a padded laptop sleeve", "fits a 16-inch laptop"),
            ("a luggage pass-through strap", "slides over a suitcase handle"),
            ("a hidden back pocket", "keeps a passport safe"),
            ("a sternum strap", "spreads the load"),
        ),
        uses=("commuting", "weekend trips", "college"),
        price=(29, 179),
    ),
    Kind(
        path="Luggage & Bags > Suitcases",
        short="suitcase",
        nouns=("Carry-On Suitcase", "Hardside Spinner Suitcase", "Checked Luggage", "Expandable Suitcase"),
        attrs={
            "Size": ("20-inch carry-on", "24-inch medium", "28-inch large"),
            "Shell Material": ("polycarbonate", "ABS", "aluminum", "ballistic nylon"),
            "Color": ("Black", "Silver", "Navy Blue", "Teal", "Rose Gold"),
        },
        features=(
            ("four 360-degree spinner wheels", "glide through airports"),
            ("a TSA-approved lock", "lets inspectors open it without damage"),
            ("an expansion zipper", "adds two inches of packing space"),
            ("compression straps", "hold clothes in place"),
        ),
        uses=("business travel", "family vacations", "weekend getaways"),
        price=(79, 399),
    ),
    Kind(
        path="Luggage & Bags > Diaper Bags",
        short="diaper bag",
        nouns=("Diaper Bag Backpack", "Diaper Tote", "Convertible Diaper Bag", "Sling Diaper Bag"),
        attrs={
            "Material": ("vegan leather", "water-resistant polyester", "cotton canvas"),
            "Color": ("Black", "Heather Grey", "Sage Green", "Camel"),
            "Included Accessories": ("changing pad", "stroller straps", "insulated bottle pockets"),
        },
        features=(
            ("a wipe-clean interior lining", "handles spilled milk"),
            ("a wide zip opening", "shows everything at a glance"),
            ("a separate wet pocket", "keeps soiled clothes away from clean ones"),
            ("a key leash", "stops keys from sinking to the bottom"),
        ),
        uses=("new parents", "daycare drop-offs", "twins"),
        price=(29, 149),
    ),
    # --- Mature ---------------------------------------------------------------------------------
    Kind(
        path="Mature > Weapons > Gun Care & Accessories > Gun Cases & Range Bags",
        short="range bag",
        nouns=("Range Bag", "Soft Rifle Case", "Hard Pistol Case", "Tactical Range Duffel"),
        attrs={
            "Length": ("36 inch", "42 inch", "46 inch", "16 inch"),
            "Material": ("600D polyester", "1000D nylon", "polymer shell"),
            "Color": ("Black", "Coyote Tan", "Ranger Green"),
        },
        features=(
            ("a lockable double zipper", "meets travel rules"),
            ("high-density foam padding", "protects optics"),
            ("MOLLE webbing", "adds extra pouches"),
            ("a removable shoulder strap", "makes carrying easier"),
        ),
        uses=("range days", "hunting trips", "secure transport"),
        price=(29, 189),
    ),
    Kind(
        path="Mature > Weapons > Gun Care & Accessories > Gun Cleaning > Gun Cleaning Cloths & Swabs",
        short="pack of cleaning patches",
        nouns=("Gun Cleaning Swabs", "Bore Cleaning Patches", "Silicone Gun Cloth", "Cleaning Swab Kit"),
        attrs={
            "Count": ("100 swabs", "250 patches", "500 patches"),
            "Material": ("cotton flannel", "lint-free microfiber", "silicone-treated cotton"),
            "Caliber": ("9mm", ".22 caliber", "12 gauge", ".308 caliber"),
        },
        features=(
            ("pre-cut squares", "fit standard cleaning jags"),
            ("a lint-free weave", "leaves nothing in the bore"),
            ("a reusable zip bag", "keeps patches dry"),
            ("a rust-preventive treatment", "protects metal after cleaning"),
        ),
        uses=("regular maintenance", "after-range cleanup", "long-term storage prep"),
        price=(5, 29),
    ),
    Kind(
        path="Mature > Weapons > Mace & Pepper Spray",
        short="pepper spray",
        nouns=("Pepper Spray Keychain", "Pepper Spray Canister", "Personal Defense Spray", "Jogger Pepper Spray"),
        attrs={
            "Range": ("10 ft", "12 ft", "18 ft"),
            "Volume": ("0.5 fl oz", "0.75 fl oz", "1.5 fl oz"),
            "Spray Pattern": ("stream", "gel", "cone mist"),
        },
        features=(
            ("a flip-top safety", "prevents accidental discharge"),
            ("UV marking dye", "helps police identify an attacker"),
            ("a hand strap", "fits runners"),
            ("a practice canister", "lets you train safely"),
        ),
        uses=("walking at night", "joggers", "campus safety"),
        price=(9, 29),
    ),
    # --- Media ----------------------------------------------------------------------------------
    Kind(
        path="Media > Books > Print Books",
        short="book",
        nouns=("Novel", "Illustrated Guide", "Story Collection", "Picture Book"),
        attrs={
            "Format": ("paperback", "hardcover", "spiral-bound"),
            "Genre": ("mystery", "cookbook", "natural history", "fantasy"),
            "Page Count": ("224 pages", "320 pages", "480 pages", "32 pages"),
        },
        features=(
            ("full-color photographs", "illustrate every chapter"),
            ("a ribbon bookmark", "saves your place"),
            ("an author's afterword", "explains the research behind the story"),
            ("acid-free paper", "won't yellow on the shelf"),
        ),
        uses=("book clubs", "bedtime reading", "gifting to a home cook"),
        price=(9, 45),
    ),
    Kind(
        path="Media > Music & Sound Recordings > Music CDs",
        short="CD",
        nouns=("Studio Album CD", "Live Concert CD", "Remastered Album CD", "Compilation CD"),
        attrs={
            "Genre": ("jazz", "folk", "classical", "indie rock", "blues"),
            "Number of Discs": ("1 disc", "2 discs", "3 discs"),
            "Edition": ("deluxe edition", "standard edition", "anniversary edition"),
        },
        features=(
            ("a 24-page booklet", "includes lyrics and liner notes"),
            ("bonus tracks", "were never released before"),
            ("a digipak case", "is made from recycled card"),
            ("new remastering", "brings out the bass"),
        ),
        uses=("car stereos", "collectors", "quiet evenings"),
        price=(9, 39),
    ),
    Kind(
        path="Media > Music & Sound Recordings > Records & LPs",
        short="vinyl record",
        nouns=("Vinyl LP", "Double LP Set", "Picture Disc LP", "Vinyl Reissue"),
        attrs={
            "Vinyl Weight": ("180-gram", "140-gram", "200-gram"),
            "Vinyl Color": ("black vinyl", "clear vinyl", "marbled blue vinyl", "translucent red vinyl"),
            "Speed": ("33 1/3 RPM", "45 RPM"),
        },
        features=(
            ("a gatefold sleeve", "opens to a full-size photo"),
            ("a digital download card", "comes inside"),
            ("an anti-static inner sleeve", "keeps dust off the grooves"),
            ("analog mastering", "keeps the warmth of the original tapes"),
        ),
        uses=("turntable owners", "record collectors", "listening parties"),
        price=(19, 59),
    ),
    # --- Office Supplies ------------------------------------------------------------------------
    Kind(
        path="Office Supplies > Office Instruments > Writing & Drawing Instruments > Pens & Pencils > Pens",
        short="pack of pens",
        nouns=("Gel Pens", "Ballpoint Pens", "Fountain Pen", "Fine Liner Pens"),
        attrs={
            "Point Size": ("0.5 mm", "0.7 mm", "1.0 mm", "0.38 mm"),
            "Ink Color": ("blue ink", "black ink", "assorted colors"),
            "Pack Size": ("12-pack", "24-pack", "single pen"),
        },
        features=(
            ("quick-drying ink", "won't smudge for left-handed writers"),
            ("a rubber grip", "cushions long note-taking"),
            ("a retractable click tip", "saves fumbling with caps"),
            ("archival pigment ink", "is water and fade resistant"),
        ),
        uses=("journaling", "school notes", "signing contracts"),
        price=(4, 39),
    ),
    Kind(
        path="Office Supplies > General Office Supplies > Paper Products > Notebooks & Notepads",
        short="notebook",
        nouns=("Dotted Notebook", "Spiral Notebook", "Hardcover Journal", "Legal Pad Set"),
        attrs={
            "Ruling": ("dot grid", "college ruled", "blank", "graph ruled"),
            "Page Size": ("A5", "B5", "letter size"),
            "Sheet Count": ("80 sheets", "120 sheets", "192 pages"),
        },
        features=(
            ("100 gsm paper", "resists fountain pen bleed"),
            ("a lay-flat binding", "opens fully on a desk"),
            ("an elastic closure", "keeps loose notes inside"),
            ("numbered pages", "make indexing easy"),
        ),
        uses=("bullet journaling", "meeting notes", "sketching"),
        price=(5, 29),
    ),
    Kind(
        path="Office Supplies > Office Instruments > Staplers",
        short="stapler",
        nouns=("Desktop Stapler", "Heavy Duty Stapler", "Electric Stapler", "Mini Stapler"),
        attrs={
            "Sheet Capacity": ("20 sheets", "25 sheets", "100 sheets", "12 sheets"),
            "Staple Size": ("standard staples", "1/4 inch staples", "mini staples"),
            "Color": ("Black", "Silver", "Blue", "Pink"),
        },
        features=(
            ("a jam-free mechanism", "clears with one push"),
            ("a built-in staple remover", "sits in the base"),
            ("a non-slip rubber base", "protects the desk"),
            ("a top-loading magazine", "reloads in seconds"),
        ),
        uses=("home offices", "classrooms", "busy reception desks"),
        price=(6, 79),
    ),
    # --- Religious & Ceremonial -----------------------------------------------------------------
    Kind(
        path="Religious & Ceremonial > Religious Items > Prayer Beads",
        short="string of prayer beads",
        nouns=("Mala Prayer Beads", "Rosary Beads", "Prayer Bead Bracelet", "Worry Beads"),
        attrs={
            "Bead Material": ("sandalwood", "rose quartz", "olive wood", "lava stone"),
            "Bead Count": ("108 beads", "59 beads", "33 beads"),
            "Bead Size": ("6 mm", "8 mm", "10 mm"),
        },
        features=(
            ("a hand-knotted cord", "keeps beads from scattering if it breaks"),
            ("a tassel finish", "marks the end of a round"),
            ("a velvet pouch", "protects them when travelling"),
            ("a stretch band", "slips on over the hand"),
        ),
        uses=("meditation", "daily prayer", "gifting for a confirmation"),
        price=(9, 59),
    ),
    Kind(
        path="Religious & Ceremonial > Memorial Ceremony Supplies > Memorial Urns",
        short="urn",
        nouns=("Cremation Urn", "Keepsake Urn", "Biodegradable Urn", "Companion Urn"),
        attrs={
            "Material": ("solid brass", "hand-turned walnut", "ceramic", "recycled paper"),
            "Capacity": ("200 cubic inches", "10 cubic inches", "400 cubic inches"),
            "Finish": ("brushed pewter", "midnight blue enamel", "natural wood grain"),
        },
        features=(
            ("a threaded secure lid", "seals tightly"),
            ("a felt-lined base", "protects furniture"),
            ("an engraving plate", "can carry a name and dates"),
            ("a water-soluble body", "dissolves gently for sea scattering"),
        ),
        uses=("home memorials", "burial", "sharing ashes among family"),
        price=(29, 249),
    ),
    Kind(
        path="Religious & Ceremonial > Wedding Ceremony Supplies > Ring Pillows & Holders",
        short="ring pillow",
        nouns=("Ring Bearer Pillow", "Wooden Ring Box", "Lace Ring Pillow", "Ring Dish"),
        attrs={
            "Material": ("satin", "burlap and lace", "rustic wood", "velvet"),
            "Color": ("Ivory", "White", "Champagne", "Dusty Blue"),
            "Dimensions": ("6 x 6 inch", "8 x 8 inch", "4 x 4 inch"),
        },
        features=(
            ("ribbon ties", "hold two rings securely"),
            ("a hinged lid", "opens smoothly at the altar"),
            ("a personalized engraving", "turns it into a keepsake"),
            ("hand-stitched pearl details", "catch the light in photos"),
        ),
        uses=("ring bearers", "rustic barn weddings", "vow renewals"),
        price=(12, 49),
    ),
    # --- Software -------------------------------------------------------------------------------
    Kind(
        path="Software > Computer Software > Antivirus & Security Software",
        short="antivirus suite",
        nouns=("Antivirus Suite", "Internet Security Software", "Total Protection Suite", "VPN and Antivirus Bundle"),
        attrs={
            "Devices": ("1 device", "3 devices", "5 devices", "10 devices"),
            "Subscription Length": ("1-year subscription", "2-year subscription"),
            "Platform": ("Windows", "Windows and macOS", "Windows, macOS, Android and iOS"),
        },
        features=(
            ("real-time malware scanning", "blocks threats before they run"),
            ("a password manager", "syncs across devices"),
            ("ransomware rollback", "restores encrypted files"),
            ("a no-logs VPN", "protects public Wi-Fi sessions"),
        ),
        uses=("family computers", "small businesses", "online banking"),
        price=(19, 99),
    ),
    Kind(
        path="Software > Computer Software > Multimedia & Design Software > Video Editing Software",
        short="video editor",
        nouns=("Video Editing Software", "Video Editor Pro", "Movie Studio Software", "Pro Video Editing Suite"),
        attrs={
            "Platform": ("Windows", "macOS", "Windows and macOS"),
            "License Type": ("perpetual license", "1-year subscription", "monthly subscription"),
            "Maximum Resolution": ("4K", "8K", "1080p"),
        },
        features=(
            ("motion tracking", "pins titles to moving objects"),
            ("GPU-accelerated rendering", "exports faster"),
            ("a royalty-free music library", "ships with the app"),
            ("multicam editing", "syncs clips by audio"),
        ),
        uses=("YouTubers", "wedding videographers", "school projects"),
        price=(29, 299),
    ),
    Kind(
        path="Software > Digital Goods & Currency > Fonts",
        short="font family",
        nouns=("Font Family License", "Display Typeface", "Handwritten Script Font", "Variable Font Family"),
        attrs={
            "Style": ("geometric sans-serif", "transitional serif", "brush script", "monospace"),
            "Weights": ("9 weights", "4 weights", "1 weight", "12 weights"),
            "License Type": ("desktop license", "webfont license", "commercial license"),
        },
        features=(
            ("OpenType ligatures", "make headlines flow"),
            ("extended Latin coverage", "supports over 200 languages"),
            ("tabular figures", "line up numbers in tables"),
            ("matching italics", "come with every upright"),
        ),
        uses=("branding", "websites", "book covers"),
        price=(19, 249),
    ),
    # --- Sporting Goods -------------------------------------------------------------------------
    Kind(
        path="Sporting Goods > Exercise & Fitness > Yoga & Pilates > Yoga & Pilates Mats",
        short="yoga mat",
        nouns=("Yoga Mat", "Non-Slip Yoga Mat", "Travel Yoga Mat", "Extra Thick Pilates Mat"),
        attrs={
            "Thickness": ("4 mm", "6 mm", "1/2 inch", "1.5 mm"),
            "Material": ("natural rubber", "TPE", "cork", "PVC-free foam"),
            "Color": ("Plum", "Sage Green", "Ocean Teal", "Black", "Sand Beige"),
        },
        features=(
            ("alignment lines", "help you place hands and feet"),
            ("a carrying strap", "comes in the box"),
            ("a closed-cell surface", "doesn't soak up sweat"),
            ("a grippy texture on both sides", "stops the mat from sliding"),
        ),
        uses=("hot yoga", "pilates classes", "home workouts"),
        price=(19, 119),
    ),
    Kind(
        path="Sporting Goods > Outdoor Recreation > Camping & Hiking > Tents",
        short="tent",
        nouns=("Backpacking Tent", "Family Camping Tent", "Instant Pop-Up Tent", "Dome Tent"),
        attrs={
            "Capacity": ("2-person", "4-person", "6-person", "1-person"),
            "Seasons": ("3-season", "4-season"),
            "Packed Weight": ("3.2 lb", "5 lb", "11 lb", "2.4 lb"),
        },
        features=(
            ("a full-coverage rainfly", "keeps storms out"),
            ("color-coded poles", "make pitching fast"),
            ("two vestibules", "store boots and packs"),
            ("mesh ceiling panels", "let you stargaze"),
        ),
        uses=("backpacking trips", "car camping", "music festivals"),
        price=(59, 449),
    ),
    Kind(
        path="Sporting Goods > Outdoor Recreation > Cycling > Cycling Apparel & Accessories > Bicycle Helmets",
        short="bike helmet",
        nouns=("Road Bike Helmet", "Mountain Bike Helmet", "Commuter Helmet", "Kids Bike Helmet"),
        attrs={
            "Size": ("Small", "Medium", "Large"),
            "Safety Technology": ("MIPS liner", "in-mold EPS", "dual-density foam"),
            "Color": ("Matte Black", "White", "Hi-Vis Yellow", "Red"),
        },
        features=(
            ("a rear LED light", "makes you visible at dusk"),
            ("a dial-fit retention system", "adjusts with one hand"),
            ("16 vents", "keep your head cool on climbs"),
            ("a removable visor", "blocks low sun"),
        ),
        uses=("road cycling", "trail riding", "school commutes"),
        price=(29, 199),
    ),
    Kind(
        path="Sporting Goods > Outdoor Recreation > Fishing > Fishing Reels",
        short="fishing reel",
        nouns=("Spinning Reel", "Baitcasting Reel", "Fly Reel", "Surf Spinning Reel"),
        attrs={
            "Gear Ratio": ("5.2:1", "6.2:1", "7.1:1"),
            "Reel Size": ("2500", "3000", "4000", "5000"),
            "Ball Bearings": ("5+1 ball bearings", "7+1 ball bearings", "10+1 ball bearings"),
        },
        features=(
            ("a carbon fiber drag system", "stops big fish smoothly"),
            ("a sealed body", "survives saltwater spray"),
            ("an interchangeable handle", "switches for left or right hand"),
            ("a braid-ready spool", "needs no backing line"),
        ),
        uses=("bass fishing", "surf casting", "trout streams"),
        price=(29, 249),
    ),
    # --- Toys & Games ---------------------------------------------------------------------------
    Kind(
        path="Toys & Games > Puzzles > Jigsaw Puzzles",
        short="puzzle",
        nouns=("Jigsaw Puzzle", "Landscape Jigsaw Puzzle", "Family Jigsaw Puzzle", "Round Jigsaw Puzzle"),
        attrs={
            "Piece Count": ("300 pieces", "500 pieces", "1000 pieces", "1500 pieces"),
            "Theme": ("mountain lake", "vintage map", "wildflower meadow", "city at night"),
            "Age Range": ("ages 8+", "ages 12+", "adults"),
        },
        features=(
            ("thick blue-board pieces", "snap together firmly"),
            ("a linen-textured print", "reduces glare"),
            ("a poster of the image", "is included for reference"),
            ("uniquely cut pieces", "never fit in the wrong spot"),
        ),
        uses=("rainy weekends", "family game tables", "screen-free evenings"),
        price=(12, 39),
    ),
    Kind(
        path="Toys & Games > Games > Board Games",
        short="board game",
        nouns=("Strategy Board Game", "Cooperative Board Game", "Family Board Game", "Party Board Game"),
        attrs={
            "Number of Players": ("2-4 players", "1-5 players", "3-8 players", "2 players"),
            "Playing Time": ("30 minutes", "60 minutes", "90 minutes"),
            "Age Range": ("ages 8+", "ages 10+", "ages 14+"),
        },
        features=(
            ("a solo mode", "plays well alone"),
            ("wooden player pieces", "feel good in the hand"),
            ("a quick-start guide", "gets new players going in minutes"),
            ("an insert tray", "speeds up setup"),
        ),
        uses=("game nights", "families with older kids", "two-player evenings"),
        price=(19, 79),
    ),
    Kind(
        path="Toys & Games > Toys > Building Toys > Construction Set Toys",
        short="building set",
        nouns=("Building Block Set", "Construction Set", "STEM Building Kit", "Brick Building Set"),
        attrs={
            "Piece Count": ("250 pieces", "520 pieces", "1,200 pieces", "90 pieces"),
            "Age Range": ("ages 4+", "ages 6+", "ages 9+"),
            "Theme": ("space station", "fire rescue", "castle", "robot"),
        },
        features=(
            ("numbered bags", "match the instruction steps"),
            ("a motorized hub", "makes models move"),
            ("a storage box", "doubles as a building base"),
            ("compatibility with major brick brands", "lets kids mix sets"),
        ),
        uses=("STEM learning", "birthday gifts", "rainy afternoons"),
        price=(15, 129),
    ),
    # --- Vehicles & Parts -----------------------------------------------------------------------
    Kind(
        path=(
            "Vehicles & Parts > Vehicle Parts & Accessories > Vehicle Maintenance, Care & Decor > Vehicle Fluids > "
            "Vehicle Motor Oil"
        ),
        short="bottle of motor oil",
        nouns=("Motor Oil", "High Mileage Motor Oil", "Engine Oil", "Motor Oil Multi-Pack"),
        attrs={
            "Viscosity": ("0W-20", "5W-30", "10W-40", "15W-40"),
            "Volume": ("1 quart", "5 quarts", "1 gallon"),
            "Oil Type": ("full synthetic", "synthetic blend", "conventional"),
        },
        features=(
            ("seal conditioners", "reduce leaks in older engines"),
            ("cold-start protection", "flows fast on frosty mornings"),
            ("a 10,000-mile change interval", "saves trips to the shop"),
            ("low-ash additives", "protect turbochargers"),
        ),
        uses=("daily drivers", "trucks that tow", "engines past 75,000 miles"),
        price=(8, 49),
    ),
    Kind(
        path=(
            "Vehicles & Parts > Vehicle Parts & Accessories > Motor Vehicle Parts > Motor Vehicle Wheel Systems > "
            "Motor Vehicle Tires > Automotive Tires"
        ),
        short="tire",
        nouns=("Passenger Tire", "Performance Tire", "All-Terrain Tire", "Touring Tire"),
        attrs={
            "Tire Size": ("205/55R16", "225/65R17", "265/70R17", "235/45R18"),
            "Season": ("all-season", "winter", "summer"),
            "Tread Life Warranty": ("50,000-mile warranty", "65,000-mile warranty", "30,000-mile warranty"),
        },
        features=(
            ("siped tread blocks", "bite into snow and slush"),
            ("a silica-rich compound", "stops shorter in the rain"),
            ("reinforced sidewalls", "resist gravel cuts"),
            ("a noise-tuned tread pattern", "keeps the cabin quiet on highways"),
        ),
        uses=("SUVs and crossovers", "highway commuting", "light off-road trails"),
        price=(79, 299),
    ),
    Kind(
        path=(
            "Vehicles & Parts > Vehicle Parts & Accessories > Vehicle Maintenance, Care & Decor > "
            "Vehicle Repair & Specialty Tools > Vehicle Jump Starters"
        ),
        short="jump starter",
        nouns=("Portable Jump Starter", "Lithium Jump Starter", "Jump Starter Power Pack", "Jump Box"),
        attrs={
            "Peak Current": ("1000A", "2000A", "3000A"),
            "Engine Size": ("up to 6.0L gas", "up to 8.0L gas and 6.0L diesel", "up to 4.0L gas"),
            "Battery Capacity": ("12000mAh", "20000mAh", "24000mAh"),
        },
        features=(
            ("reverse-polarity protection", "stops sparks if clamps are swapped"),
            ("USB charging ports", "top up phones in an emergency"),
            ("a built-in flashlight", "helps at night by the roadside"),
            ("a rugged carrying case", "fits under a seat"),
        ),
        uses=("roadside emergencies", "boats and ATVs", "cars left parked in winter"),
        price=(49, 179),
    ),
)

# --- shared text, so a category cannot be told from one unique phrase ------------------------------

TOP_FEATURES: dict[str, tuple[tuple[str, str], ...]] = {
    "Animals & Pet Supplies": (
        ("non-toxic materials", "are safe around curious pets"),
        ("a 60-day happy-pet guarantee", "lets you return it if your pet disagrees"),
    ),
    "Apparel & Accessories": (
        ("a true-to-size fit", "matches the size chart"),
        ("responsibly sourced fibers", "are traced from farm to factory"),
    ),
    "Arts & Entertainment": (
        ("a studio-grade finish", "satisfies hobbyists and pros alike"),
        ("a beginner-friendly guide", "is printed inside the package"),
    ),
    "Baby & Toddler": (
        ("independent safety testing", "meets strict standards for little ones"),
        ("parent-friendly design", "works with one hand while holding a baby"),
    ),
    "Business & Industrial": (
        ("professional-grade construction", "stands up to daily use at work"),
        ("bulk pricing", "is available for teams and schools"),
    ),
    "Cameras & Optics": (
        ("precision-machined parts", "keep everything aligned"),
        ("a lifetime optics warranty", "covers accidental damage"),
    ),
    "Electronics": (
        ("a two-year warranty", "covers defects"),
        ("a low-power standby mode", "saves energy when idle"),
    ),
    "Food, Beverages & Tobacco": (
        ("pantry-friendly packaging", "keeps it fresh for months"),
        ("ingredients sourced from small farms", "are listed on every label"),
    ),
    "Furniture": (
        ("a sturdy frame", "stays steady for years"),
        ("numbered hardware packs", "make assembly straightforward"),
    ),
    "Hardware": (
        ("a jobsite-tough build", "survives drops and dust"),
        ("contractor-grade quality", "is backed by a three-year warranty"),
    ),
    "Health & Beauty": (
        ("a clinically informed design", "was developed with health professionals"),
        ("cruelty-free production", "involves no animal testing"),
    ),
    "Home & Garden": (
        ("a timeless design", "fits any home"),
        ("easy-care materials", "stay looking new"),
    ),
    "Luggage & Bags": (
        ("YKK zippers", "run smoothly for years"),
        ("a padded grab handle", "makes lifting easy"),
    ),
    "Mature": (
        ("a discreet design", "draws little attention"),
        ("compliance labeling", "lists local regulations to check before purchase"),
    ),
    "Media": (
        ("a collector-friendly package", "looks great on a shelf"),
        ("a limited first edition", "is numbered by hand"),
    ),
    "Office Supplies": (
        ("a clean, professional look", "suits any desk"),
        ("bulk packaging", "keeps the supply closet stocked"),
    ),
    "Religious & Ceremonial": (
        ("handcrafted details", "make each piece unique"),
        ("a gift box", "protects it until the ceremony"),
    ),
    "Software": (
        ("instant digital delivery", "sends the key by email"),
        ("free updates", "arrive for the length of the license"),
    ),
    "Sporting Goods": (
        ("a performance-tested design", "was refined by athletes"),
        ("weather-resistant materials", "handle mud, sweat and rain"),
    ),
    "Toys & Games": (
        ("child-safe materials", "meet toy safety standards"),
        ("a gift-ready box", "makes wrapping easy"),
    ),
    "Vehicles & Parts": (
        ("a fit guide", "lists compatible makes and models"),
        ("OEM-level quality", "meets manufacturer specifications"),
    ),
}
"""Features any product of a top-level category may list."""

GROUP_FEATURES: dict[str, tuple[tuple[str, str], ...]] = {
    "pet bed": (("a plush sleeping surface", "invites long naps"), ("a low entry", "is easy for older pets to step into")),
    "shampoo": (("a gentle low-foam rinse", "leaves no residue"), ("plant-derived cleansers", "are biodegradable")),
    "tripod": (("a built-in bubble level", "keeps horizons straight"), ("rubber feet", "grip tile and stone")),
    "keyboard": (("a USB connection", "plugs straight into a computer"), ("standard-width keys", "feel natural under the fingers")),
    "coffee": (("a rich, full-bodied cup", "starts the day right"), ("a barista-approved taste", "rivals the corner cafe")),
    "optics": (("fully coated glass", "gives sharp, bright images"), ("a protective lens cap", "keeps the glass clean")),
    "bag": (("water-repellent fabric", "keeps contents dry in a shower"), ("an organizer panel", "holds pens, cables and keys")),
}
"""Features shared by kinds that are easy to confuse (see KIND_GROUPS)."""

KIND_GROUPS: dict[str, str] = {
    "dog bed": "pet bed", "cat bed": "pet bed",
    "pet shampoo": "shampoo", "shampoo": "shampoo",
    "tripod": "tripod", "phone tripod": "tripod",
    "keyboard": "keyboard",
    "bag of coffee": "coffee", "coffee maker": "coffee",
    "lens": "optics", "pair of binoculars": "optics", "microscope": "optics",
    "backpack": "bag", "camera bag": "bag", "diaper bag": "bag", "range bag": "bag",
}
"""Kind (by its `short`) -> the group whose features it shares. Both keyboards share 'keyboard'."""

SHARED_USES = ("everyday use", "gifting", "first-time buyers", "busy households")
"""Uses any product may name."""

MODEL_NAMES = ("Aria", "Nova", "Summit", "Echo", "Atlas", "Flex", "Core", "Prime", "Loft", "Terra", "Vista", "Pulse")
"""Model names that sometimes stand in for the product noun in a title."""
