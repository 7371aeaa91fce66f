builtin.module attributes {scalc.model = "cross_entropy", scalc.symbols = ["B", "T"]} {
  func.func @loss(%logits: tensor<?x?x10xbf16> {nn.input = "logits", nn.dims = #nn.dims<B, T, 10>}, %labels: tensor<?x?xi64> {nn.input = "labels", nn.dims = #nn.dims<B, T>}) -> (tensor<f32> {nn.output = "loss", nn.dims = #nn.dims<>}) {
    %loss = nn.cross_entropy %logits, %labels : (tensor<?x?x10xbf16>, tensor<?x?xi64>) -> tensor<f32>
    func.return %loss : tensor<f32>
  }
}
