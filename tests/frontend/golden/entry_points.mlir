builtin.module attributes {scalc.model = "entry_points", scalc.symbols = ["B"]} {
  nn.param @w : tensor<4x3xf32> {init = "normal", std = 1.000000e-01 : f64}
  nn.param @temperature : tensor<f32> {init = "ones"}
  func.func @forward(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}) -> (tensor<?x3xf32> {nn.output = "logits", nn.dims = #nn.dims<B, 3>}) {
    %w = nn.get_param @w : tensor<4x3xf32>
    %logits = nn.matmul %x, %w : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    func.return %logits : tensor<?x3xf32>
  }
  func.func @loss(%x: tensor<?x4xf32> {nn.input = "x", nn.dims = #nn.dims<B, 4>}, %labels: tensor<?xi32> {nn.input = "labels", nn.dims = #nn.dims<B>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %w = nn.get_param @w : tensor<4x3xf32>
    %temperature = nn.get_param @temperature : tensor<f32>
    %logits = nn.matmul %x, %w : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    %0 = nn.broadcast %temperature to #nn.dims<B, 3> : tensor<f32> -> tensor<?x3xf32>
    %1 = nn.div %logits, %0 : tensor<?x3xf32>
    %loss = nn.cross_entropy %1, %labels : (tensor<?x3xf32>, tensor<?xi32>) -> tensor<f32>
    func.return %loss : tensor<f32>
  }
}
