builtin.module attributes {scalc.model = "lm", scalc.symbols = ["B", "T"]} {
  func.func @loss(%logits: tensor<?x?x65xf32> {nn.input = "logits", nn.dims = #nn.dims<B, T, 65>}, %labels: tensor<?x?xi32> {nn.input = "labels", nn.dims = #nn.dims<B, T>}, %lb: tensor<?x65xbf16> {nn.input = "lb", nn.dims = #nn.dims<B*T, 65>}, %yb: tensor<?xi64> {nn.input = "yb", nn.dims = #nn.dims<B*T>}) -> (tensor<f32> {nn.output = "loss"}, tensor<f32> {nn.output = "loss_bf16"}) {
    %0 = nn.cross_entropy %logits, %labels : (tensor<?x?x65xf32>, tensor<?x?xi32>) -> tensor<f32>
    %1 = nn.cross_entropy %lb, %yb : (tensor<?x65xbf16>, tensor<?xi64>) -> tensor<f32>
    func.return %0, %1 : tensor<f32>, tensor<f32>
  }
}
