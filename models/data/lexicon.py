"""Word lists for the step parser: every surface form it knows, mapped to a canonical value.

Each table is `canonical: "form|form|..."`. Noun forms get their plurals and verb forms their
inflections automatically, so a table only lists the base spellings (and the odd typo that the
CaptainCook4D annotators made often enough to matter, like "chilli"/"chili").
"""

from __future__ import annotations

# Canonical verbs: each is a key of slots.VERB_MOTION, so the renderer can draw it.
VERBS: dict[str, str] = {
    "add": "add|put in|mix in|add in|readd|re add",
    "measure": "measure|weigh",
    "pour": "pour",
    "drizzle": "drizzle",
    "splash": "splash",
    "fill": "fill",
    "chop": "chop|crush|crumble",
    "mince": "mince",
    "dice": "dice",
    "cut": "cut|tear|halve",
    "slice": "slice",
    "trim": "trim",
    "stir": "stir",
    "mix": "mix|recombine",
    "combine": "combine",
    "saute": "saute|sautee",
    "whisk": "whisk",
    "beat": "beat",
    "blend": "blend|puree|blitz",
    "crack": "crack|break",
    "spread": "spread|smear|apply",
    "brush": "brush",
    "coat": "coat|grease",
    "peel": "peel|pull out|pull",
    "grate": "grate|shred",
    "spiralize": "spiralize",
    "sprinkle": "sprinkle",
    "season": "season",
    "garnish": "garnish",
    "top": "top",
    "scoop": "scoop|spoon",
    "place": "place|arrange|insert|slide|cross|assemble|prepare|fold|keep|hold",
    "put": "put",
    "take": "take|get|pick",
    "transfer": "transfer|move",
    "set": "set|set aside",
    "lay": "lay|lay out",
    "line": "line",
    "remove": "remove|take out|take off|discard|throw|throw away",
    "open": "open",
    "serve": "serve",
    "replace": "replace",
    "secure": "secure",
    "roll": "roll|roll up",
    "flip": "flip",
    "turn": "turn|turn on|turn off",
    "invert": "invert",
    "squeeze": "squeeze|extract|press|pipe",
    "rinse": "rinse|wash|thaw",
    "drain": "drain",
    "clean": "clean|wipe",
    "pat": "pat|dry",
    "grind": "grind",
    "cover": "cover|seal",
    "heat": "heat|preheat|return|lower|reduce|increase",
    "cook": "cook|continue cooking",
    "boil": "boil",
    "simmer": "simmer",
    "melt": "melt",
    "toast": "toast",
    "fry": "fry",
    "microwave": "microwave|nuke",
    "wait": "wait|let|allow|let sit|sit|rest|stop|check|cool|bloom",
}

# Helper verbs that precede the real action ("continue slicing", "start stirring").
AUX_VERBS = "continue|start|begin|keep|try|forget|forgot|make sure|be careful|do|does|did|use"

# Short verbs that double their last consonant (stir -> stirring).
DOUBLING = {
    "transfer",
    "refer",
    "stir",
    "trim",
    "whip",
    "dip",
    "slip",
    "grab",
    "scrub",
    "spin",
    "rub",
    "snip",
    "pop",
    "plan",
    "skip",
}

# Irregular inflections the automatic rule gets wrong.
IRREGULAR_VERBS = {
    "put": "put|putting",
    "cut": "cut|cutting",
    "set": "set|setting",
    "take": "take|took|taken|taking|takes",
    "lay": "lay|laid|laying",
    "beat": "beat|beaten|beating",
    "grind": "grind|ground|grinding|grinded",
    "break": "break|broke|broken|breaking",
    "tear": "tear|tore|torn|tearing|teared",
    "throw": "throw|threw|thrown|throwing",
    "spread": "spread|spreading",
    "get": "get|got|getting",
    "let": "let|letting",
    "keep": "keep|kept|keeping",
    "sit": "sit|sat|sitting",
    "stop": "stop|stopped|stopping",
    "drop": "drop|dropped|dropping",
    "chop": "chop|chopped|chopping|chops",
    "flip": "flip|flipped|flipping",
    "pat": "pat|patted|patting",
    "top": "top|topped|topping",
    "dry": "dry|dried|drying",
    "fry": "fry|fried|frying",
    "use": "use|used|using",
    "do": "do|did|done|doing",
    "forget": "forget|forgot|forgotten",
    "begin": "begin|began|begun|beginning",
    "spill": "spill|spilled|spilt|spilling|spills",
    "make": "make|made|making",
    "hold": "hold|held|holding",
}

# Ingredients and the things a step handles (paper filter, toothpick).
INGREDIENTS: dict[str, str] = {
    "egg": "egg|eggs|egg mixture|whisked egg|whisked eggs|yolk",
    "salsa": "salsa",
    "cheese": "cheese",
    "cheddar cheese": "cheddar|cheddar cheese|shredded cheddar cheese",
    "mozzarella": "mozzarella|mozzarella cheese|mozarella",
    "parmesan": "parmesan|parmesan cheese|parmeasan",
    "english muffin": "english muffin|muffin",
    "lettuce": "lettuce|lettuce leaf|lettuce leaves|leaf|leaves",
    "cooking spray": "cooking spray|spray",
    "meatball": "meatball",
    "garlic": "garlic|garlic clove",
    "onion": "onion",
    "carrot": "carrot",
    "sweet and sour sauce": "sweet and sour sauce|sweet and sour",
    "soy sauce": "soy sauce|soya sauce",
    "sauce": "sauce|any sauce",
    "pepper": "pepper|pepper powder|black pepper|ground black pepper|pepper flakes",
    "salt": "salt",
    "flour": "flour",
    "olive oil": "olive oil|extra virgin olive oil",
    "oil": "oil",
    "vegetable oil": "vegetable oil|sunflower oil|canola oil",
    "sesame oil": "sesame oil",
    "baking soda": "baking soda",
    "baking powder": "baking powder",
    "italian herbs": "italian herbs|dried italian herbs|herbs|italian seasoning|seasoning|oregano",
    "marinara sauce": "marinara sauce|marinara|pizza sauce",
    "milk": "milk",
    "skimmed milk": "skimmed milk|skim milk",
    "batter": "batter",
    "noodles": "noodles|noodle|ramen|ramen noodles|zoodles|zucchini noodles",
    "flavour packet": "flavour packet|flavor packet|flavouring|flavoring|packet|seasoning packet",
    "basil": "basil",
    "cilantro": "cilantro|cilantro leaves|coriander|coriander leaves",
    "vegetables": "vegetables|veggies|vegatables",
    "water": "water",
    "coffee beans": "coffee beans|beans|coffee bean",
    "coffee grounds": "coffee grounds|grounds|coffee ground|coffee powder",
    "paper filter": "paper filter|filter paper|filter insert|filters",
    "coffee": "coffee",
    "curd": "curd|yogurt|yoghurt",
    "cucumber": "cucumber",
    "chilli powder": "red chilli powder|red chili powder|chilli powder|chili powder",
    "cumin": "cumin|cumin powder",
    "cumin seeds": "cumin seeds|cumin seed",
    "chaat masala": "chaat masala|chaat masala powder|chat masala|chat masala powder|garam masala",
    "mustard seeds": "mustard|mustard seeds|mustard seed",
    "turmeric": "turmeric|turmeric powder",
    "tomato": "tomato|tomatoe",
    "cherry tomato": "cherry tomato|cherry tomatoes",
    "tomato puree": "tomato puree|puree",
    "green chilli": "green chilli|green chili|chilli|chili|chillies",
    "shallot": "shallot",
    "mushroom": "mushroom|cremini mushroom|mushroom stem|stem",
    "balsamic vinegar": "balsamic vinegar|vinegar|apple cider vinegar",
    "tofu": "tofu|tofu cubes|tofu cube",
    "bell pepper": "bell pepper|red bell pepper|capsicum",
    "broccoli": "broccoli|broccoli florets|florets|brocolli",
    "honey": "honey",
    "cornstarch": "cornstarch|corn starch|starch",
    "ginger": "ginger",
    "corn": "corn|frozen corn",
    "lime juice": "lime juice|juice|lemon juice",
    "lime": "lime|lemon",
    "butter": "butter|ghee|clarified butter",
    "banana": "banana",
    "maple syrup": "maple syrup|syrup",
    "strawberry": "strawberry",
    "pancake": "pancake",
    "tortilla": "tortilla|flour tortilla|tortilla roll|roll|log",
    "bread": "bread|bread piece|bite size piece",
    "baguette": "baguette|baugette|baguette slice|round",
    "cinnamon": "cinnamon",
    "vanilla extract": "vanilla extract|vanilla|vanilla essence",
    "sugar": "sugar|white sugar|brown sugar",
    "chocolate": "chocolate|chocolate piece|choclate|cocoa",
    "frosting": "frosting|chocolate frosting|forsting|dollop",
    "cake": "cake|mug cake",
    "filling": "filling|stuffing",
    "paper liner": "paper liner|liner|cupcake liner|paper cupcake liner",
    "nut butter": "nut butter|peanut butter",
    "jelly": "jelly|jam",
    "pinwheel": "pinwheel|pin wheel",
    "tuna": "tuna|drained tuna|tuna mixture",
    "mayonnaise": "mayonnaise|mayo",
    "sriracha": "sriracha|sriracha sauce|siracha|siracha sauce",
    "avocado": "avocado|avocado slice",
    "scallion": "scallion|spring onion|green onion|scallion bunch",
    "zucchini": "zucchini|zuccini",
    "omelette": "omelette|omelet|omlet",
    "ketchup": "ketchup",
    "ice": "ice|ice cube",
    "egg shell": "egg shell|eggshell|shell",
    "chilli flakes": "chilli flakes|chili flakes|red chilli flakes|red chili flakes|flakes",
    "whole milk": "whole milk|full cream milk",
    # What a step refers back to ("the contents of the bowl").
    "contents": "contents|content|mixture|ingredients|everything|all ingredients|food|items|item",
    "sauce mixture": "sauce mixture",
}

TOOLS: dict[str, str] = {
    "knife": "knife|butter knife|blunt knife|sharp knife|knofe|table knife",
    "whisk": "whisk|whisker",
    "spatula": "spatula|fish slice spatula|fish slice|flipper|turner",
    "spoon": "spoon|wooden spoon|measuring spoon|teaspoon measure|ladle|metal spoon|steel spoon|tablespoon measure",
    "fork": "fork",
    "hand": "hand|hands|fingers|finger|bare hands|bare hand",
    "grater": "grater",
    "peeler": "peeler",
    "tongs": "tongs",
    "scissors": "scissors|scissor",
    "brush": "brush|pastry brush",
    "towel": "towel|paper towel|tea towel|paper tea towel|kitchen towel|tissue|tissue paper|cloth|napkin",
    "spiralizer": "spiralizer",
    "floss": "floss|thread|string",
    "toothpick": "toothpick",
    "lid": "lid",
    "measuring cup": "measuring cup",
    "timer": "timer",
    "thermometer": "thermometer",
    "scale": "scale|kitchen scale|weighing scale",
    "mortar": "mortar|mortar and pestle|stone",
}

CONTAINERS: dict[str, str] = {
    "bowl": "bowl|mixing bowl|serving bowl|small bowl|microwave safe bowl|glass bowl",
    "pan": "pan|skillet|frying pan|non stick pan|nonstick pan|non stick frying pan|wok|tawa|saucepan",
    "pot": "pot",
    "mug": "mug|coffee mug|microwavable mug|microwaveable mug",
    "plate": "plate|serving plate|platter|dish|serving dish|microwave safe plate|plater|tray",
    "ramekin": "ramekin|ramekin cup",
    "cup": "cup|microwave safe cup|glass|jug|measuring jug",
    "board": "board|cutting board|chopping board|countertop|counter|counter top|kitchen counter|table|platform",
    "blender": "blender|mixer|blender mixer|grinder|coffee grinder",
    "jar": "jar|bottle",
    "kettle": "kettle",
    "dripper": "dripper",
    "filter": "filter|filter cone|cone",
    "sieve": "sieve|seive|strainer|colander",
    "bag": "bag|zip top bag|package|polythene|plastic bag",
    "can": "can|tin",
    "microwave": "microwave|oven",
    "sink": "sink|tap",
}

# Units: canonical values of slots.UNITS.
UNITS: dict[str, str] = {
    "tsp": "tsp|teaspoon|teaspoons|tsps",
    "tbsp": "tbsp|tablespoon|tablespoons|tbsps|table spoon|table spoons|tablespoonds|tbs",
    "cup": "cup|cups",
    "oz": "oz|ounce|ounces",
    "g": "g|gram|grams|gm|gms",
    "ml": "ml|milliliter|milliliters",
    "pinch": "pinch|pinches",
    "slice": "slice|slices|round|rounds",
    "clove": "clove|cloves",
    "piece": "piece|pieces|in number|whole|strip|strips|cube|cubes|leaf|leaves",
    "block": "block|blocks",
    "can": "can|cans",
    "knob": "knob|knobs",
    "spoonful": "spoonful|spoonfuls|spoon|spoons",
    "drop": "drop|drops",
}

NUMBER_WORDS = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "two": 2.0,
    "three": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
    "twelve": 12.0,
    "fifteen": 15.0,
    "twenty": 20.0,
    "thirty": 30.0,
    "half": 0.5,
    "quarter": 0.25,
    "double": 2.0,
    "twice": 2.0,
}

TIME_UNITS = {
    "second": "second|seconds|sec|secs|s",
    "minute": "minute|minutes|min|mins",
}

# Heat: canonical values of slots.HEATS. "cold"/"hot" describe water; the renderer shows the
# same dial, so they share the scale (off = cold, high = hot or boiling).
HEAT_WORDS = {
    "high": "high|high heat|high power|medium high|medium high heat|on high|full power|hot|boiling|very hot|high flame|max|maximum",
    "medium": "medium|medium heat|medium flame|medium power|warm|lukewarm|moderate",
    "low": "low|low heat|low medium|low medium heat|low flame|low power|gentle heat|medium low|medium low heat",
    "off": "off|cold|chilled|no heat|room temperature|off the heat|off heat",
}

# How a step is done: kept in Slots.manner.
MANNER_WORDS = {
    "slowly": "slowly|slow|gently|gentle|carefully|careful|lightly|light",
    "quickly": "quickly|quick|fast|fastly|rapidly|hastily|swiftly|swiflty|vigorously|vigorous|forcefully",
    "roughly": "roughly|rough|coarsely|coarse|unevenly|uneven|irregular|irregularly|random|randomly",
    "finely": "finely|fine|tiny|tiny bits|small bits|small pieces|evenly|uniform",
    "thin": "thin|thinly|thinner|short thin",
    "thick": "thick|thickly|thicker|chunky",
    "large": "large|larger|big|bigger|huge|chunks",
    "small": "small|smaller|little",
    "well": "well|thoroughly|completely|fully|properly|correctly|tight|tightly|firmly",
    "improperly": "improperly|improper|incorrectly|incorrect|wrongly|wrong|badly|poorly|inappropriately|not properly|not well",
    "incompletely": "incompletely|incomplete|partially|partly|half|not fully|not completely|not enough",
    "spilled": "spill|spilled|spilt|spilling|spills|spillage|splashing|splash outside|overflowing|overflown|overfill|overfilling|leak|leaked|leaks|drop|dropped|dropping|falls|fell",
    "loosely": "loosely|loose",
    "directly": "directly|straight",
    "often": "often|frequently|occasionally|in between|continuously|constantly",
    "covered": "covered",
    "uncovered": "uncovered|without a lid|without lid",
    "whole": "whole|full",
    "burnt": "burnt|burned|burn|burns|scorched|charred|overcooked|brownish",
    "undercooked": "undercooked|undercook|under cook|raw|uncooked",
    "twice": "twice|two times",
    "short": "short|shorter",
    "long": "long|longer",
    "messy": "messy|soiled|dirty|unclean|unwashed|unhygienic|unhyginic",
}

# Preparation states an ingredient is in; kept on the ingredient ("minced garlic").
STATES = {
    "chopped": "chopped",
    "minced": "minced",
    "sliced": "sliced",
    "grated": "grated",
    "shredded": "shredded",
    "softened": "softened|soft",
    "frozen": "frozen",
    "drained": "drained",
    "peeled": "peeled",
    "rinsed": "rinsed|washed",
    "whisked": "whisked|beaten",
    "melted": "melted",
    "cut": "cut",
    "crushed": "crushed",
    "fresh": "fresh|homemade|packaged|ripe",
    "expired": "expired|stale|spoiled|rotten",
    "unsoftened": "unsoftened|hard",
    "unpeeled": "unpeeled",
    "unchopped": "unchopped|whole",
}

# Words that carry no slot but are part of ordinary step language; knowing them is what lets the
# parser call a text fully parsed.
FUNCTION_WORDS = (
    "the a an of to into but in inside on onto over from with using by and or then for about around"
    " until till up down out off it its them they this that these those is are be been was were"
    " will should may might can could so as at after before while when once if also just more"
    " some any each all both other another another's no not nor very too than such there here"
    " you your we i me my our his her their s t don didn doesn dont donot isn won cannot"
    " only again halfway entire already still even same through throughout between across along beside behind"
    " below above under near next first last second third rest remaining few lot lots bit"
    " additional extra instead rather place enough much many several way time times"
    " step steps recipe"
)

# Known content words with no slot: nouns of places, shapes and results; adjectives of outcome.
DESCRIPTIVE_WORDS = (
    "top bottom side sides both end ends edge edges corner center centre middle surface base"
    " half halves piece pieces bits bit strips rounds layer single shape shapes log circle"
    " semi quarter cone gaps gap opening diameter inch inches margin length height width"
    " apart perpendicular parallel opposite directions direction slanted horizontally vertically"
    " sideways motion circular circle consistency sand lumps lump smooth foam bubbles bubble"
    " bubbling sizzle sizzling fragrant translucent brown browned golden crisp tender crispy"
    " darkened colour color thickens thick set almost nearly cooked done ready dissolves dissolve"
    " melts melted rises rise brim toppings filling leaks spitting splattering splatter air"
    " possible touch hot longer clean comes clings wet uncooked flow space moves enable sets"
    " amount heaped generous small large medium sized size bite tiny excess little"
    " three puddles puddle dollops dollop heart ball balls discs disc wedges chunks chunk"
    " anysize fine ok okay there might be desired taste needed need if check degrees"
    " fahrenheit celsius temperature power level percent heat flame stove burner gas fire"
    " mixture contents batter frosting cake cakes toothpick toothpicks pinwheel pinwheels"
    " microwave safe microwavable microwaveable nonstick non stick heavy bottomed"
    " extra virgin sweet sour cut roughly number cooling cool pipe prepared lined cupcake"
    " wrap wraps leaf mixing serving measuring weighing kitchen countertop"
    " soft still ensure sure careful expected exact exactly approximately approximate"
    " required prescribed specified correct proper original regular normal plain different"
    " separate separately together everything whole full each remaining rest part parts"
    " properly without being left right later early immediately briefly thoroughly"
    " mentioned instructed instruction instructions soften softens softened tops prevent"
    " release stops stop ensuring make create form x leaving leave running run see"
    " remain remains watch beyond has have had gets become becomes turns it's microwavesafe"
    " bloom overfill assemble powder powdered seeds seed red green yellow white wooden metal"
    " steel plastic glass outside contaminate addition things thing material utensil utensils"
    " instrument instruments type making made cuts cut complete difficult visible able timing"
    " video liquid bulk back floor hole action container boundary occurs occur process"
    " technique actually really against attached square skin likely state reached like"
    " structure style pile piled gloves glove"
)

# Known multi-word phrases with no slot.
DESCRIPTIVE_PHRASES = (
    "in half",
    "as much as possible",
    "to taste",
    "if desired",
    "if needed",
    "in between",
)

# Parts of a mistake description that say how it differs rather than what was done.
MISTAKE_WORDS = (
    "instead rather than place of contrary opposed less more fewer extra twice double half"
    " whole too much many little less enough skip skipped skipping skips missed missing miss"
    " forgot forget forgetting did didn not no never without performed perform happened"
    " happens error mistake accidentally wrong incorrect incorrectly order before after"
    " while during due because since result results resulting leads lead leading"
    " consequence thus so which"
)
