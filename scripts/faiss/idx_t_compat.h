// Debian's libfaiss 1.7.3 declares idx_t inside faiss::Index; faiss-node expects faiss::idx_t (>= 1.7.4).
#pragma once
#include <faiss/Index.h>
namespace faiss { using idx_t = Index::idx_t; }
