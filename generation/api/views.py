"""POST /api/agents/{id}/interview — ask an agent a question."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from generation.services import InterviewError, interview_answer


class AgentInterviewApi(APIView):
    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=500, allow_blank=False, trim_whitespace=True)

    class OutputSerializer(serializers.Serializer):
        agent = serializers.IntegerField()
        answer = serializers.CharField()
        outcome = serializers.CharField()
        memories = serializers.ListField(child=serializers.CharField())

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request, agent_id: int):
        agent = get_object_or_404(Agent.objects.select_related("world"), pk=agent_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            answer = interview_answer(agent=agent, question=data.validated_data["question"])
        except InterviewError as exc:
            field, _, message = str(exc).partition(": ")
            return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)
        out = {"agent": agent.id, "answer": answer.answer, "outcome": answer.outcome,
               "memories": [m.text for m in answer.memories]}
        return Response(self.OutputSerializer(out).data)
