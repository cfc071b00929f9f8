"""Sanity limits on what a user may ask for; each is named in the error that enforces it."""

MAX_CHANNELS = 4096  # per layer, the input's channels included
MIN_INPUT_SIDE = 1
MAX_INPUT_SIDE = 1024
# Values in one input image (C·H·W): 16×1024×1024, 64×512×512 or 256×256×256; bounds the memory one
# image and every layer's input map cost wherever the channels and sides are both large.
MAX_INPUT_VALUES = 16 * 1024 * 1024
MAX_BLOCKS = 16
MAX_CONVS_PER_BLOCK = 16
MAX_FC_WIDTH = 16384
MAX_CLASSES = 100_000
MAX_WIDTH_DIVISOR = 64
MAX_PARAMS = 1_000_000_000
MAX_BATCH_SIZE = 65536
# The share of a device's memory a run may plan to use (the rest: the dataset, the allocator, workspaces).
MEMORY_BUDGET_SHARE = 0.8
MAX_LAYERS = 256
MAX_KERNEL = 64
MAX_STRIDE = 64
MAX_PADDING = 64
MAX_DILATION = 64
# What the dashboard's controls offer (the CLI takes any size within the limits above).
DASHBOARD_CHANNELS = (1, 3)
DASHBOARD_MIN_SIDE = 28
DASHBOARD_MAX_SIDE = 256
DASHBOARD_MAX_CLASSES = 1000
# What the See page and `cnnlab field` take.
MAX_INSPECT_IMAGES = 256
# Bytes one effective-field pass may plan to hold (its estimate: cnnlab/inspect/field.py); the images go
# through in chunks that fit, so the peak does not grow with their number. VGG-16 at 256 px: 2 a chunk.
MAX_FIELD_BYTES = 2 * 1024**3
MAX_TOP_SAMPLE = 2000
# Bytes of dataset images (float32 at the model's input size) one request may hold at once: 256 images
# of VGG's 3×256×256, 3,500 of 3×224×224, 32 of the largest input (16×1024×1024).
MAX_IMAGE_BYTES = 2 * 1024**3
MAX_FEATURE_CHANNELS = 64
MAX_REPEATS = 100
# What a view shows of a run (the store keeps everything): points of one curve in a chart (the largest
# and smallest of each stretch, so spikes stay), characters of a run's name in a table.
MAX_CHART_POINTS = 2000
MAX_SHOWN_NAME = 80
SWEEP_CONFIRM_TRIALS = 256  # a larger sweep needs --yes (the dashboard caps it here)
MAX_SWEEP_TRIALS = 10_000
# A model file (`.pt2`) given to `cnnlab summary`/`field` or uploaded on the Build page, in MiB; the
# dashboard's upload cap (server.maxUploadSize in dashboard/.streamlit/config.toml) is the same number.
MAX_MODEL_FILE_MIB = 128
# Results of the server's worker pool (analyses, memory estimates, effective fields, top images) it
# keeps, by their pickled size; the least recently used go first.
JOB_CACHE_MIB = 256
# The dashboard's own caches (dashboard/caches.py), by bytes: models with their weights (See, uploads)
# and dataset images (See).
MODEL_CACHE_MIB = 1024
IMAGE_CACHE_MIB = 512
UPLOADS_KEPT = 4  # accepted model uploads kept per user (and for all visitors together), newest first
MAX_GRAPH_NODES = 20_000  # operations in one exported graph
# A model file's JSON (its program and weight list), checked before it is parsed: unpacked bytes, and
# objects plus arrays ('{' and '[' counted). DenseNet-121's program: 1.3 MB, 23,186 of them, 431 nodes.
MAX_MODEL_JSON_MIB = 64
MAX_MODEL_JSON_CONTAINERS = 2_000_000
MAX_MODULE_DEPTH = 64  # module calls nested in one exported graph (and parts of a module path)
# Diagrams: past this many links Graphviz gets a quicker, rougher layout; the dashboard draws
# every layer only up to DASHBOARD_DIAGRAM_LINKS (DenseNet-121's 959 links take dot about 40 s).
DIAGRAM_QUICK_LINKS = 150
DASHBOARD_DIAGRAM_LINKS = 400
