package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Products split by columns across threads ({@link ParallelGemv}) give exactly PyTorch's unsplit
 * result, for one row and several, for widths that do and do not divide evenly; unregistered or
 * too narrow weights are left to PyTorch.
 */
class ParallelGemvTest {

  @Test
  void matMul_anyRows_equalsUnsplitProductBitForBit() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      NDArray even = m.randomNormal(new Shape(2048, 1024)).transpose(); // (in 1024, out 2048), a view as the model keeps it
      NDArray odd = m.randomNormal(new Shape(1000, 333)).transpose(); // (333, 1000): blocks of 512 + 488, or 336 x 2 + 328
      for (int parts : new int[] {2, 3}) {
        try (ParallelGemv gemv = ParallelGemv.of(parts, List.of(even, odd))) {
          assertThat(gemv.parts()).isEqualTo(parts);
          for (NDArray w : List.of(even, odd)) {
            for (int rows : new int[] {1, 5}) {
              NDArray x = m.randomNormal(new Shape(rows, w.getShape().get(0)));
              NDArray split = gemv.matMul(x, w);
              assertThat(split.getShape()).isEqualTo(new Shape(rows, w.getShape().get(1)));
              assertThat(split.toFloatArray()).containsExactly(x.matMul(w).toFloatArray());
            }
          }
        }
      }
    }
  }

  @Test
  void matMul_unknownWeight_isPyTorchsProduct() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      NDArray w = m.randomNormal(new Shape(256, 64)).transpose(); // (64, 256)
      NDArray other = m.randomNormal(new Shape(256, 64)).transpose();
      try (ParallelGemv gemv = ParallelGemv.of(2, List.of(w))) {
        NDArray one = m.randomNormal(new Shape(1, 64));
        assertThat(gemv.matMul(one, other).toFloatArray()).containsExactly(one.matMul(other).toFloatArray());
      }
    }
  }

  @Test
  void of_narrowWeightsOrOnePart_splitsNothing() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      NDArray narrow = m.randomNormal(new Shape(20, 8)).transpose(); // 20 columns: a second block of 16 leaves none for a third
      try (ParallelGemv three = ParallelGemv.of(3, List.of(narrow));
          ParallelGemv one = ParallelGemv.of(1, List.of(m.randomNormal(new Shape(512, 8)).transpose()))) {
        assertThat(three.parts()).isEqualTo(1);
        assertThat(one.parts()).isEqualTo(1);
      }
    }
  }
}
