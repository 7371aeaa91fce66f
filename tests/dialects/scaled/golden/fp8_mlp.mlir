builtin.module attributes {scalc.model = "mlp", scalc.symbols = ["B"]} {
  nn.param @w1 : tensor<64x256xf32> {init = "normal", std = 1.250000e-01 : f64}
  nn.param @b1 : tensor<256xf32> {init = "zeros"}
  nn.param @w2 : tensor<256x10xf32> {init = "normal", std = 6.250000e-02 : f64}
  nn.state @amax.0 : tensor<16xf32>
  nn.state @amax.1 : tensor<16xf32>
  func.func @train_forward(%x: tensor<?x64xf32> {nn.input = "x", nn.dims = #nn.dims<B, 64>}, %y: tensor<?xi32> {nn.input = "y", nn.dims = #nn.dims<B>}) -> (tensor<f32> {nn.output = "loss"}, !scaled.tensor<?x256xbf16> {nn.output = "h"}) {
    %w1 = nn.get_param @w1 : tensor<64x256xf32>
    %b1 = nn.get_param @b1 : tensor<256xf32>
    %w2 = nn.get_param @w2 : tensor<256x10xf32>
    %0 = scaled.from_tensor %x : tensor<?x64xf32> -> !scaled.tensor<?x64xbf16>
    %1 = scaled.from_tensor %w1 : tensor<64x256xf32> -> !scaled.tensor<64x256xbf16>
    %2 = scaled.from_tensor %b1 : tensor<256xf32> -> !scaled.tensor<256xbf16>
    %3 = scaled.from_tensor %w2 : tensor<256x10xf32> -> !scaled.tensor<256x10xbf16>
    %4 = scaled.amax %0 : !scaled.tensor<?x64xbf16>
    %5 = scaled.rescale %0, %4 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<?x64xbf16>
    %6 = scaled.cast %5 : !scaled.tensor<?x64xbf16> -> !scaled.tensor<?x64xf8E4M3FN>
    %7 = nn.get_state @amax.0 : tensor<16xf32>
    %8 = scaled.amax %1 : !scaled.tensor<64x256xbf16>
    %9, %10 = scaled.update_history %7, %8 : tensor<16xf32>
    nn.set_state @amax.0, %10 : tensor<16xf32>
    %11 = scaled.rescale %1, %9 {target = 4.480000e+02 : f64, margin = 1 : i64} : !scaled.tensor<64x256xbf16>
    %12 = scaled.cast %11 : !scaled.tensor<64x256xbf16> -> !scaled.tensor<64x256xf8E4M3FN>
    %13 = scaled.matmul %6, %12 : (!scaled.tensor<?x64xf8E4M3FN>, !scaled.tensor<64x256xf8E4M3FN>) -> !scaled.tensor<?x256xbf16>
    %14 = scaled.broadcast %2 to #nn.dims<B, 256> : !scaled.tensor<256xbf16> -> !scaled.tensor<?x256xbf16>
    %15 = scaled.add %13, %14 : !scaled.tensor<?x256xbf16>
    %16 = scaled.relu %15 : !scaled.tensor<?x256xbf16>
    %17 = scaled.amax %16 : !scaled.tensor<?x256xbf16>
    %18 = scaled.rescale %16, %17 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<?x256xbf16>
    %19 = scaled.cast %18 : !scaled.tensor<?x256xbf16> -> !scaled.tensor<?x256xf8E4M3FN>
    %20 = nn.get_state @amax.1 : tensor<16xf32>
    %21 = scaled.amax %3 : !scaled.tensor<256x10xbf16>
    %22, %23 = scaled.update_history %20, %21 : tensor<16xf32>
    nn.set_state @amax.1, %23 : tensor<16xf32>
    %24 = scaled.rescale %3, %22 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<256x10xbf16>
    %25 = scaled.cast %24 : !scaled.tensor<256x10xbf16> -> !scaled.tensor<256x10xf8E4M3FN>
    %26 = scaled.matmul %19, %25 : (!scaled.tensor<?x256xf8E4M3FN>, !scaled.tensor<256x10xf8E4M3FN>) -> !scaled.tensor<?x10xbf16>
    %27 = scaled.cross_entropy %26, %y : (!scaled.tensor<?x10xbf16>, tensor<?xi32>) -> !scaled.tensor<bf16>
    %28 = scaled.to_tensor %27 : !scaled.tensor<bf16> -> tensor<f32>
    func.return %28, %16 : tensor<f32>, !scaled.tensor<?x256xbf16>
  }
}
