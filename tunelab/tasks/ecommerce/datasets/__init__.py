"""E-commerce datasets as typed records: loaders for the public datasets a user can drop in (MAVE,
AmazonQA, ESCI Shopping Queries, ECInstruct), for TuneLab's own labelled product files, and for the
packaged synthetic sample. Bad input raises `tunelab.data.DatasetError` naming file, line (or
record) and field."""

from tunelab.tasks.ecommerce.datasets.loaders import (
    load_amazonqa,
    load_ecinstruct,
    load_esci,
    load_esci_products,
    load_mave,
    load_products,
    packaged_taxonomy,
)
from tunelab.tasks.ecommerce.datasets.records import (
    ESCI_GAINS,
    ESCI_LABELS,
    Answer,
    Attribute,
    AttributeRecord,
    Evidence,
    InstructionRecord,
    Paragraph,
    Product,
    QARecord,
    RelevancePair,
)
from tunelab.tasks.ecommerce.datasets.sample import (
    CATALOGUE_MAPPING,
    REAL_SPLIT,
    SAMPLE_FILES,
    SPLITS,
    RetrievalQuestion,
    hash_split,
    load_real_products,
    load_retrieval,
    load_sample_attributes,
    load_sample_products,
    load_sample_qa,
    load_sample_retrieval,
    real_products_path,
    sample_dir,
    sample_path,
)

__all__ = [
    "CATALOGUE_MAPPING", "ESCI_GAINS", "REAL_SPLIT", "ESCI_LABELS", "SAMPLE_FILES", "SPLITS", "Answer", "Attribute", "AttributeRecord", "Evidence",
    "InstructionRecord", "Paragraph", "Product", "QARecord", "RelevancePair", "RetrievalQuestion", "hash_split",
    "load_amazonqa", "load_ecinstruct", "load_esci", "load_esci_products", "load_mave", "load_products",
    "load_real_products", "load_retrieval", "load_sample_attributes", "load_sample_products", "load_sample_qa", "load_sample_retrieval", "packaged_taxonomy",
    "real_products_path", "sample_dir", "sample_path",
]
