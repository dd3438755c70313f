// Sorting-based stripe (ring-artefact) removal, Vo et al. 2018 (Opt. Express 26, 28396),
// algorithm 3, in C++ for the Daisy plug-in daisy_ringsort.
//
// For each sinogram (angles, detector): every detector column is sorted along the angles,
// the sorted image is median-filtered across the detector with a window of `size` pixels
// (edges reflected as scipy.ndimage's mode "reflect"), and each filtered value goes back
// to the angle it came from. A stripe is a column offset: after sorting it is a constant
// step across that column, which the median across the detector removes.
//
// Array rules: the input is a C-contiguous float32 (slices, angles, detector) array and
// the output another one of the same shape, both taken without a copy (noconvert: any
// other array is a TypeError). The GIL is released during the work. Bad input raises
// std::invalid_argument (a Python ValueError) naming the slice, angle and pixel.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace nb = nanobind;

using InArray = nb::ndarray<const float, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using OutArray = nb::ndarray<float, nb::ndim<3>, nb::c_contig, nb::device::cpu>;

namespace {

// one sinogram: src and dst are (na, nd) row-major; dst may not alias src
void filter_sinogram(const float *src, float *dst, size_t na, size_t nd, size_t size, size_t slice) {
    std::vector<uint32_t> order(na * nd);  // order[k * nd + j]: angle of the k-th smallest in column j
    std::vector<float> sorted(na * nd);    // sorted[k * nd + j]: that value
    std::vector<std::pair<float, uint32_t>> column(na);
    for (size_t j = 0; j < nd; ++j) {
        for (size_t k = 0; k < na; ++k) {
            const float v = src[k * nd + j];
            if (std::isnan(v)) {
                throw std::invalid_argument("NaN in the sinogram at slice " + std::to_string(slice) +
                                            ", angle " + std::to_string(k) + ", pixel " + std::to_string(j));
            }
            column[k] = {v, static_cast<uint32_t>(k)};
        }
        // by value, equal values by angle: the order of a stable argsort
        std::sort(column.begin(), column.end());
        for (size_t k = 0; k < na; ++k) {
            sorted[k * nd + j] = column[k].first;
            order[k * nd + j] = column[k].second;
        }
    }
    // each row of the sorted image, padded by reflection (scipy's "reflect": d c b a | a b c d | d c b a),
    // then the median of every window of `size` pixels
    const size_t h = size / 2;
    std::vector<float> padded(nd + 2 * h), window(size);
    for (size_t k = 0; k < na; ++k) {
        const float *row = &sorted[k * nd];
        std::copy(row, row + nd, padded.begin() + h);
        for (size_t t = 1; t <= h; ++t) {
            padded[h - t] = row[t - 1];
            padded[h + nd - 1 + t] = row[nd - t];
        }
        // a sorted window slides along the row: one value leaves, one enters (O(size) per pixel)
        std::copy(padded.begin(), padded.begin() + size, window.begin());
        std::sort(window.begin(), window.end());
        for (size_t j = 0;; ++j) {
            dst[static_cast<size_t>(order[k * nd + j]) * nd + j] = window[h];
            if (j + 1 == nd) break;
            const float leaving = padded[j], entering = padded[j + size];
            const size_t p = std::lower_bound(window.begin(), window.end(), leaving) - window.begin();
            std::copy(window.begin() + p + 1, window.end(), window.begin() + p);
            const size_t q = std::upper_bound(window.begin(), window.end() - 1, entering) - window.begin();
            std::copy_backward(window.begin() + q, window.end() - 1, window.end());
            window[q] = entering;
        }
    }
}

void remove_stripes(InArray sinograms, OutArray out, int size) {
    const size_t ns = sinograms.shape(0), na = sinograms.shape(1), nd = sinograms.shape(2);
    if (out.shape(0) != ns || out.shape(1) != na || out.shape(2) != nd) {
        throw std::invalid_argument("out must have the shape of sinograms");
    }
    if (size < 3 || size % 2 == 0) {
        throw std::invalid_argument("median window size must be odd and >= 3; got " + std::to_string(size));
    }
    if (static_cast<size_t>(size) > nd) {
        throw std::invalid_argument("median window size " + std::to_string(size) +
                                    " px exceeds the detector width " + std::to_string(nd) + " px");
    }
    if (na >= UINT32_MAX) throw std::invalid_argument("too many angles");
    if (static_cast<const void *>(sinograms.data()) == static_cast<const void *>(out.data())) {
        throw std::invalid_argument("out must not be the input array (the filter reads the whole sinogram)");
    }
    for (size_t s = 0; s < ns; ++s) {
        filter_sinogram(sinograms.data() + s * na * nd, out.data() + s * na * nd, na, nd,
                        static_cast<size_t>(size), s);
    }
}

}  // namespace

NB_MODULE(_ringsort, m) {
    m.doc() = "Sorting-based stripe removal (Vo et al. 2018, algorithm 3), C++ kernel of daisy_ringsort";
    m.def("remove_stripes", &remove_stripes, nb::arg("sinograms").noconvert(), nb::arg("out").noconvert(),
          nb::arg("size"), nb::call_guard<nb::gil_scoped_release>(),
          "Filter C-contiguous float32 sinograms (slices, angles, detector) into out (same shape, "
          "another array) with a median window of `size` (odd) pixels across the detector.");
}
