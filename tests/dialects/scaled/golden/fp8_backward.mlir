builtin.module attributes {scalc.model = "mlp", scalc.symbols = ["B"]} {
  func.func @train_backward(%x: !scaled.tensor<?x64xbf16> {nn.input = "x", nn.dims = #nn.dims<B, 64>}, %pre: !scaled.tensor<?x256xbf16> {nn.input = "pre", nn.dims = #nn.dims<B, 256>}, %h: !scaled.tensor<?x256xbf16> {nn.input = "h", nn.dims = #nn.dims<B, 256>}, %logits: !scaled.tensor<?x10xbf16> {nn.input = "logits", nn.dims = #nn.dims<B, 10>}, %w2: !scaled.tensor<256x10xbf16> {nn.input = "w2", nn.dims = #nn.dims<256, 10>}, %y: tensor<?xi32> {nn.input = "y", nn.dims = #nn.dims<B>}, %seed: tensor<f32> {nn.input = "dloss", nn.dims = #nn.dims<>}) -> (tensor<64x256xf32> {nn.output = "dw1"}, tensor<256xf32> {nn.output = "db1"}, tensor<256x10xf32> {nn.output = "dw2"}) {
    %0 = scaled.from_tensor %seed : tensor<f32> -> !scaled.tensor<bf16>
    %1 = scaled.cross_entropy_grad %logits, %y, %0 : (!scaled.tensor<?x10xbf16>, tensor<?xi32>, !scaled.tensor<bf16>) -> !scaled.tensor<?x10xbf16>
    %2 = scaled.amax %1 : !scaled.tensor<?x10xbf16>
    %3 = scaled.rescale %1, %2 {target = 5.734400e+04 : f64, margin = 0 : i64} : !scaled.tensor<?x10xbf16>
    %4 = scaled.cast %3 : !scaled.tensor<?x10xbf16> -> !scaled.tensor<?x10xf8E5M2>
    %5 = scaled.transpose %w2 [1, 0] : !scaled.tensor<256x10xbf16> -> !scaled.tensor<10x256xbf16>
    %6 = scaled.amax %5 : !scaled.tensor<10x256xbf16>
    %7 = scaled.rescale %5, %6 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<10x256xbf16>
    %8 = scaled.cast %7 : !scaled.tensor<10x256xbf16> -> !scaled.tensor<10x256xf8E4M3FN>
    %9 = scaled.matmul %4, %8 : (!scaled.tensor<?x10xf8E5M2>, !scaled.tensor<10x256xf8E4M3FN>) -> !scaled.tensor<?x256xbf16>
    %10 = scaled.transpose %h [1, 0] : !scaled.tensor<?x256xbf16> -> !scaled.tensor<256x?xbf16>
    %11 = scaled.amax %10 : !scaled.tensor<256x?xbf16>
    %12 = scaled.rescale %10, %11 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<256x?xbf16>
    %13 = scaled.cast %12 : !scaled.tensor<256x?xbf16> -> !scaled.tensor<256x?xf8E4M3FN>
    %14 = scaled.matmul %13, %4 : (!scaled.tensor<256x?xf8E4M3FN>, !scaled.tensor<?x10xf8E5M2>) -> !scaled.tensor<256x10xbf16>
    %15 = scaled.relu_grad %pre, %9 : !scaled.tensor<?x256xbf16>
    %16 = scaled.sum %15 axes [0] : !scaled.tensor<?x256xbf16> -> !scaled.tensor<256xbf16>
    %17 = scaled.transpose %x [1, 0] : !scaled.tensor<?x64xbf16> -> !scaled.tensor<64x?xbf16>
    %18 = scaled.amax %17 : !scaled.tensor<64x?xbf16>
    %19 = scaled.rescale %17, %18 {target = 4.480000e+02 : f64, margin = 0 : i64} : !scaled.tensor<64x?xbf16>
    %20 = scaled.cast %19 : !scaled.tensor<64x?xbf16> -> !scaled.tensor<64x?xf8E4M3FN>
    %21 = scaled.amax %15 : !scaled.tensor<?x256xbf16>
    %22 = scaled.rescale %15, %21 {target = 5.734400e+04 : f64, margin = 0 : i64} : !scaled.tensor<?x256xbf16>
    %23 = scaled.cast %22 : !scaled.tensor<?x256xbf16> -> !scaled.tensor<?x256xf8E5M2>
    %24 = scaled.matmul %20, %23 : (!scaled.tensor<64x?xf8E4M3FN>, !scaled.tensor<?x256xf8E5M2>) -> !scaled.tensor<64x256xbf16>
    %25 = scaled.to_tensor %24 : !scaled.tensor<64x256xbf16> -> tensor<64x256xf32>
    %26 = scaled.to_tensor %16 : !scaled.tensor<256xbf16> -> tensor<256xf32>
    %27 = scaled.to_tensor %14 : !scaled.tensor<256x10xbf16> -> tensor<256x10xf32>
    func.return %25, %26, %27 : tensor<64x256xf32>, tensor<256xf32>, tensor<256x10xf32>
  }
}
