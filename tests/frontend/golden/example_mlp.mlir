builtin.module attributes {scalc.model = "mlp", scalc.symbols = ["B"]} {
  nn.param @w1 : tensor<64x256xf32> {init = "normal", std = 0.17677669529663689 : f64}
  nn.param @b1 : tensor<256xf32> {init = "zeros"}
  nn.param @w2 : tensor<256x10xf32> {init = "normal", std = 6.250000e-02 : f64}
  nn.param @b2 : tensor<10xf32> {init = "zeros"}
  func.func @forward(%x: tensor<?x64xf32> {nn.input = "x", nn.dims = #nn.dims<B, 64>}) -> (tensor<?x10xf32> {nn.output = "logits", nn.dims = #nn.dims<B, 10>}) {
    %w1 = nn.get_param @w1 : tensor<64x256xf32>
    %b1 = nn.get_param @b1 : tensor<256xf32>
    %w2 = nn.get_param @w2 : tensor<256x10xf32>
    %b2 = nn.get_param @b2 : tensor<10xf32>
    %0 = nn.matmul %x, %w1 : (tensor<?x64xf32>, tensor<64x256xf32>) -> tensor<?x256xf32>
    %1 = nn.broadcast %b1 to #nn.dims<B, 256> : tensor<256xf32> -> tensor<?x256xf32>
    %2 = nn.add %0, %1 : tensor<?x256xf32>
    %3 = nn.relu %2 : tensor<?x256xf32>
    %4 = nn.matmul %3, %w2 : (tensor<?x256xf32>, tensor<256x10xf32>) -> tensor<?x10xf32>
    %5 = nn.broadcast %b2 to #nn.dims<B, 10> : tensor<10xf32> -> tensor<?x10xf32>
    %logits = nn.add %4, %5 : tensor<?x10xf32>
    func.return %logits : tensor<?x10xf32>
  }
  func.func @loss(%x: tensor<?x64xf32> {nn.input = "x", nn.dims = #nn.dims<B, 64>}, %y: tensor<?xi32> {nn.input = "y", nn.dims = #nn.dims<B>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w1 = nn.get_param @w1 : tensor<64x256xf32>
    %b1 = nn.get_param @b1 : tensor<256xf32>
    %w2 = nn.get_param @w2 : tensor<256x10xf32>
    %b2 = nn.get_param @b2 : tensor<10xf32>
    %0 = nn.matmul %x, %w1 : (tensor<?x64xf32>, tensor<64x256xf32>) -> tensor<?x256xf32>
    %1 = nn.broadcast %b1 to #nn.dims<B, 256> : tensor<256xf32> -> tensor<?x256xf32>
    %2 = nn.add %0, %1 : tensor<?x256xf32>
    %3 = nn.relu %2 : tensor<?x256xf32>
    %4 = nn.matmul %3, %w2 : (tensor<?x256xf32>, tensor<256x10xf32>) -> tensor<?x10xf32>
    %5 = nn.broadcast %b2 to #nn.dims<B, 10> : tensor<10xf32> -> tensor<?x10xf32>
    %logits = nn.add %4, %5 : tensor<?x10xf32>
    %loss = nn.cross_entropy %logits, %y : (tensor<?x10xf32>, tensor<?xi32>) -> tensor<f32>
    func.return %loss : tensor<f32>
  }
}
