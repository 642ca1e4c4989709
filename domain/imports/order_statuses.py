"""Order statuses as shops' platforms write them in their exports (Shopee, Lazada, TikTok Shop, Haravan,
Sapo, KiotViet, Taobao/Tmall, Shopify), mapped to ours. Compared like header names: case, spacing and
accents aside, so "Đã hủy", "đã huỷ" and "DA HUY" are one word.

Where a platform's word sits between two of ours, the money decides: most Vietnamese orders are paid
cash on delivery, so an order on its way ("Đang giao") has not been paid yet and stays ``placed``; a
Chinese order waiting to ship (待发货) was paid first and is ``paid``.
"""

from __future__ import annotations

from domain.imports.parsing import BadValue, column_key
from domain.orders.models import OrderStatus

# fmt: off
_WORDS: dict[OrderStatus, tuple[str, ...]] = {
    OrderStatus.PLACED: (
        "chờ xác nhận", "chờ xử lý", "đang xử lý", "chờ thanh toán", "chưa thanh toán", "đã xác nhận",
        "chờ lấy hàng", "chờ giao hàng", "đang giao", "đang giao hàng", "đang vận chuyển", "đặt hàng", "mới",
        "待付款", "待支付", "未付款", "已下单", "pending", "unpaid", "open", "new",
    ),
    OrderStatus.PAID: (
        "đã thanh toán", "đã trả tiền", "已付款", "已支付", "待发货", "已发货", "卖家已发货", "paid", "shipped",
    ),
    OrderStatus.DELIVERED: (
        "đã giao", "đã giao hàng", "giao hàng thành công", "giao thành công", "hoàn thành", "đã hoàn thành",
        "thành công", "đã nhận hàng", "已签收", "已收货", "已完成", "交易成功", "完成", "completed", "fulfilled",
    ),
    OrderStatus.CANCELLED: (
        "đã hủy", "hủy", "hủy đơn", "đơn hủy", "giao thất bại", "已取消", "取消", "交易关闭", "已关闭",
        "canceled", "voided",
    ),
    OrderStatus.REFUNDED: (
        "trả hàng/hoàn tiền", "trả hàng hoàn tiền", "đã hoàn tiền", "hoàn tiền", "trả hàng", "đã trả hàng",
        "已退款", "退款成功", "退款", "退货退款", "已退货", "refund", "returned",
    ),
}
# fmt: on
STATUS_WORDS: dict[str, OrderStatus] = {
    column_key(word): status for status, words in _WORDS.items() for word in (status.value, *words)
}


def order_status(text: str) -> str:
    """Our status for a platform's word ("Đã giao" -> delivered); BadValue, naming ours and some of
    theirs, for a word no platform above uses."""
    status = STATUS_WORDS.get(column_key(text))
    if status is None:
        ours = ", ".join(status.value for status in OrderStatus)
        raise BadValue(f"a status: {ours}, or a shop's word such as Đã giao, Đã hủy, Trả hàng/Hoàn tiền, 已付款")
    return status.value
