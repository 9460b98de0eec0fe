"""REST API of the payments service (docs/contract.md, "REST contract")."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import selectors, services
from payments.models import Account, Payment
from saga_common.web.auth import IsOperator, visible_customer
from saga_common.web.fields import CreditLimitField, OrderIdFilter, PatternField, QueryFilters, paginated
from saga_common.web.pagination import PAGE_PARAMETERS, paginated_response


class AccountOutputSerializer(serializers.ModelSerializer):
    available = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["customer_id", "currency", "credit_limit", "available"]

    def get_available(self, account: Account) -> str:
        return str(selectors.account_available(account))


class AccountCreateApi(APIView):
    permission_classes = [IsOperator]  # credit is granted by operators, not by customers themselves

    class InputSerializer(serializers.Serializer):
        customer_id = PatternField(r"^[A-Za-z0-9._:-]+$", max_length=64)
        currency = PatternField(r"^[A-Z]{3}$", help_text="ISO 4217")
        credit_limit = CreditLimitField()

    @extend_schema(
        operation_id="accounts_create", request=InputSerializer, responses={201: AccountOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_open(**serializer.validated_data)
        return Response(
            AccountOutputSerializer(account).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/accounts/{account.customer_id}"},
        )


class AccountDetailApi(APIView):
    @extend_schema(operation_id="accounts_retrieve", responses=AccountOutputSerializer)
    def get(self, request: Request, customer_id: str) -> Response:
        account = selectors.account_get(customer_id=customer_id, visible_to=visible_customer(request))
        return Response(AccountOutputSerializer(account).data)


class PaymentListApi(APIView):
    class FilterSerializer(QueryFilters):
        order_id = OrderIdFilter()

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Payment
            fields = ["id", "order_id", "amount", "currency", "status"]

    @extend_schema(
        operation_id="payments_list",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses=paginated(OutputSerializer, "PaginatedPaymentList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        payments = selectors.payment_list(**filters.validated_data, visible_to=visible_customer(request))
        return paginated_response(payments, request, self, self.OutputSerializer)
